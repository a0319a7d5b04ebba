"""Reports from stored benchmark results only (never trains; reads the run folder's JSON).

from kerascnn.report import build_report
build_report("reports/runs/20260101T000000Z", compare="reports/runs/20251201T000000Z")
"""

from kerascnn.errors import ReportError
from kerascnn.report.load import Entry, RunData, entries, load_run
from kerascnn.report.markdown import build_report, compare_section, dataset_table

__all__ = [
    "build_report",
    "compare_section",
    "dataset_table",
    "entries",
    "load_run",
    "Entry",
    "ReportError",
    "RunData",
]
