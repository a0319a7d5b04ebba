"""Small pure helpers shared across the package (no Keras, no TensorFlow)."""

from __future__ import annotations


def make_divisible(value: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never dropping below 90% of it.

    The channel-rounding rule of MobileNet v2 / EfficientNet / SE blocks (as in the
    TensorFlow and torchvision reference implementations).
    """
    if min_value is None:
        min_value = divisor
    new_value = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new_value < 0.9 * value:
        new_value += divisor
    return int(new_value)


def fmt_duration(seconds: float) -> str:
    """``75.4`` -> ``"1m15s"``; ``3725`` -> ``"1h02m05s"``; ``9.6`` -> ``"10s"``."""
    seconds = int(round(seconds))
    m, s = divmod(seconds, 60)
    h, m = divmod(m, 60)
    return f"{h}h{m:02d}m{s:02d}s" if h else (f"{m}m{s:02d}s" if m else f"{s}s")


def slug(text: str) -> str:
    """A file-name-safe form of a model spec or dataset name."""
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.strip())
    return "-".join(p for p in out.split("-") if p) or "x"


def split_list(text: str) -> list[str]:
    """Split a comma-separated list, keeping commas inside parentheses: 'a,vgg11(width=0.5,x=1)'."""
    items, depth, cur = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        if ch == "," and depth == 0:
            items.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    items.append("".join(cur).strip())
    return [i for i in items if i]
