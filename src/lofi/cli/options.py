"""Options shared by several ``lofi`` commands, each defined once.

Nothing here imports numpy, OpenCV or the stages at module level: building the
parser (``lofi --help``) stays fast.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from lofi.cli.types import IMGSZ
from lofi.stages.paths import DEFAULT_FOOT_OFFSET, DEFAULT_WEIGHTS, project_default
from lofi.vision.choices import DETECTORS, FOOT_POINTS

if TYPE_CHECKING:
    from lofi.stages.detect import DetectorChoice
    from lofi.vision.foot_refine import FootRefineOptions

FOOT_POINT_HELP = (
    "bottom_middle: the box's bottom-middle (paper eq. 3); upright: where the person's axis through the "
    "vertical vanishing point meets the box bottom (needs intrinsics)"
)


def add_detector(parser: argparse.ArgumentParser) -> None:
    """``--detector`` (one of the person detectors)."""
    parser.add_argument(
        "--detector", choices=DETECTORS, default="yolo", help="person detector (default: %(default)s)"
    )


TRUST_WEIGHTS_HELP = (
    "allow PyTorch .pt weights (also fall-detection's): a .pt file is a pickle and can run any code "
    "when loaded, so pass this only for a file you trust; ONNX weights (.onnx, what train-detector "
    "writes) are data and need no trust"
)


def add_yolo(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """YOLO's ``--weights``, ``--trust-weights``, ``--imgsz`` and (with ``device``) ``--device``."""
    parser.add_argument(
        "--weights",
        default=project_default(DEFAULT_WEIGHTS),
        help="YOLO weights: an .onnx file (a .pt only with --trust-weights), a local model name, or "
        "fall-detection (default: %(default)s)",
    )
    parser.add_argument("--trust-weights", action="store_true", help=TRUST_WEIGHTS_HELP)
    parser.add_argument(
        "--imgsz", type=IMGSZ, default=320, help="YOLO inference size in px, 32..4096 (default: %(default)s)"
    )
    if device:
        parser.add_argument(
            "--device", default="cpu", help="YOLO device: cpu, 0, cuda:0 (default: %(default)s)"
        )


def detector_choice(args: argparse.Namespace, name: str | None = None) -> DetectorChoice:
    """The detector ``name`` (default ``args.detector``) with the YOLO options of ``args``.

    For YOLO, the weights are checked here (found, ONNX or trusted .pt), before any input is read.
    """
    from lofi.stages.detect import DetectorChoice
    from lofi.vision.detectors.yolo import checked_weights

    name = name or args.detector
    if name != "yolo":
        return DetectorChoice(name, {})
    checked_weights(args.weights, args.trust_weights)
    options = {"weights": args.weights, "imgsz": args.imgsz, "trust_weights": args.trust_weights}
    if getattr(args, "device", None):
        options["device"] = args.device
    return DetectorChoice(name, options)


def add_foot_point(parser: argparse.ArgumentParser, default: str, extra: str = "") -> None:
    """``--foot-point`` (foot-point model of the labels)."""
    parser.add_argument(
        "--foot-point",
        choices=FOOT_POINTS,
        default=default,
        help=f"{FOOT_POINT_HELP}{extra} (default: %(default)s)",
    )


def add_foot_offset_from(group: argparse._MutuallyExclusiveGroup | argparse.ArgumentParser) -> None:
    """``--foot-offset-from`` (the correction ``lofi fit-foot-offset`` wrote)."""
    group.add_argument(
        "--foot-offset-from",
        metavar="JSON",
        help=f"the offset fitted by `lofi fit-foot-offset` (it writes {DEFAULT_FOOT_OFFSET})",
    )


def add_refine_feet(parser: argparse.ArgumentParser, whose: str = "") -> None:
    """``--refine-feet`` / ``--no-refine-feet`` (box-bottom refinement against the empty room)."""
    parser.add_argument(
        "--refine-feet",
        action=argparse.BooleanOptionalAction,
        default=True,
        help=f"refine the box bottom{whose} against the empty room (temporal median of the video; "
        "static camera) before mapping the foot point to the floor (default: on)",
    )


def refine_options(args: argparse.Namespace) -> FootRefineOptions | None:
    """The refinement settings when ``--refine-feet`` is on, else None."""
    from lofi.vision.foot_refine import FootRefineOptions

    return FootRefineOptions() if args.refine_feet else None


def add_quiet(parser: argparse.ArgumentParser) -> None:
    """``--quiet`` (no progress bars)."""
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def has_display() -> bool:
    """Whether a window can be shown (an X11 or Wayland display is set): live views and clicking."""
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
