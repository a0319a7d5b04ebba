"""Detection basics in NumPy: box formats, vectorized pairwise IoU, NMS and soft-NMS.

    >>> from kerascnn.detection import pairwise_iou, nms
    >>> keep = nms(boxes, scores, iou_threshold=0.5)

Conventions follow TensorFlow's ``tf.image.non_max_suppression`` (tested against it) and the
format names of ``keras.utils.bounding_boxes``.
"""

from kerascnn.detection.boxes import (
    BOX_FORMATS,
    box_area,
    center_xywh_to_xyxy,
    convert_boxes,
    pairwise_iou,
    xywh_to_xyxy,
    xyxy_to_center_xywh,
    xyxy_to_xywh,
)
from kerascnn.detection.nms import nms, soft_nms

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "convert_boxes",
    "pairwise_iou",
    "xywh_to_xyxy",
    "xyxy_to_xywh",
    "center_xywh_to_xyxy",
    "xyxy_to_center_xywh",
    "nms",
    "soft_nms",
]
