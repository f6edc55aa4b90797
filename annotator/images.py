"""Image files: safe resolution under an images root, validation with Pillow, content-addressed storage."""
from __future__ import annotations

import hashlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from PIL import Image as PILImage

FORMAT_EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "GIF": ".gif", "WEBP": ".webp", "BMP": ".bmp", "TIFF": ".tif"}


class ImageRejected(ValueError):
    """The file is not an image we accept; the message says why, for a person."""


@dataclass(frozen=True)
class ImageInfo:
    path: Path
    sha256: str
    width: int
    height: int
    extension: str

    @property
    def storage_name(self) -> str:
        return f"images/{self.sha256[:2]}/{self.sha256}{self.extension}"


def resolve_under(root: Path, key: str) -> Path:
    """``root/key``, refusing anything that would leave ``root`` (``..``, absolute paths, symlinks out)."""
    root_real = Path(os.path.realpath(root))
    candidate = Path(os.path.realpath(root_real / key))
    if os.path.commonpath([root_real, candidate]) != str(root_real):
        raise ImageRejected(f"image path {key!r} escapes the images root")
    return candidate


def inspect_image(path: Path) -> ImageInfo:
    """Hash and validate an image file with Pillow (format, full decode, decompression-bomb limit)."""
    limit = settings.EISTUDIO_MAX_IMAGE_PIXELS
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    previous = PILImage.MAX_IMAGE_PIXELS
    PILImage.MAX_IMAGE_PIXELS = limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as img:
                fmt, (width, height) = img.format, img.size
                if fmt not in FORMAT_EXTENSIONS:
                    raise ImageRejected(f"unsupported image format {fmt}")
                if width * height > limit:
                    raise ImageRejected(
                        f"image is {width}x{height} = {width * height:,} pixels: refused as a possible "
                        f"decompression bomb (over the limit of {limit:,} pixels)"
                    )
                img.load()  # decode fully: catches truncated and corrupt files
    except ImageRejected:
        raise
    except (PILImage.DecompressionBombError, PILImage.DecompressionBombWarning):
        raise ImageRejected(
            f"refused as a possible decompression bomb (over the limit of {limit:,} pixels)"
        ) from None
    except (PILImage.UnidentifiedImageError, SyntaxError) as exc:
        raise ImageRejected(f"not an image file ({exc.__class__.__name__})") from None
    except (OSError, ValueError) as exc:
        raise ImageRejected(f"corrupt or truncated image ({exc})") from None
    finally:
        PILImage.MAX_IMAGE_PIXELS = previous
    return ImageInfo(Path(path), digest.hexdigest(), width, height, FORMAT_EXTENSIONS[fmt])


def store_image(info: ImageInfo) -> str:
    """Copy the file into media storage under its content hash (once); returns the storage name."""
    name = info.storage_name
    if not default_storage.exists(name):
        with open(info.path, "rb") as fh:
            saved = default_storage.save(name, File(fh))
        return saved
    return name
