"""Camera-like frames of the project's own QR codes, seeded and reproducible (issue 17, "Build" 1).

A frame is what a phone camera at 1280×720 sees when a teller points it at a QR code: the symbol
``side`` pixels wide (the dark square, without its quiet zone), turned by a small angle, with the
contrast of a screen or a sheet of paper rather than pure black and white, light that falls off
across the frame, lens blur, sensor noise, and JPEG compression. Every random choice comes from
``random.Random(seed)``, so the same seed gives byte-identical frames on every machine with the
same Pillow.

Three kinds of code, as the product makes them:

- ``live``: the wallet's QR, the reference presentation (4 of 8 claims, KB-JWT) in ``PT1`` at ECC M
  (version 21-22);
- ``paper``: the paper companion of a PPT in ``PT1`` at ECC Q (version ≤ 13);
- ``offer``: an OpenID4VCI credential-offer link at ECC M, as the issuer prints it.
"""

from __future__ import annotations

import io
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from statistics import NormalDist

from PIL import Image, ImageChops, ImageFilter

from servicekit import qr_image

WIDTH, HEIGHT = 1280, 720
QUIET = 4  # modules of quiet zone around the symbol
MAX_ANGLE = 8.0  # degrees either way
BLUR = (0.8, 2.0)  # Gaussian sigma, pixels
JPEG_QUALITY = (40, 70)
LIGHT_FALLOFF = (0.0, 0.45)  # share of brightness lost from one side of the frame to the other
NOISE_SIGMA = (2.0, 6.0)


@dataclass(frozen=True)
class Code:
    """One QR code to photograph: its kind, its text and the error correction it is printed with."""

    kind: str
    text: str
    error_correction: str

    @property
    def version(self) -> int:
        return qr_image.qr_version(self.text, self.error_correction)


@dataclass(frozen=True)
class Shot:
    """How one frame is taken; every field is drawn from the seeded generator."""

    side: int
    angle: float
    blur: float
    quality: int
    falloff: float
    light_angle: float
    dark: int  # grey level of a dark module
    light: int  # grey level of a light module
    background: int
    noise: float
    dx: int  # offset of the code's centre from the frame's centre
    dy: int


def draw_shot(rng: random.Random, side: int) -> Shot:
    return Shot(
        side=side,
        angle=rng.uniform(-MAX_ANGLE, MAX_ANGLE),
        blur=rng.uniform(*BLUR),
        quality=rng.randint(*JPEG_QUALITY),
        falloff=rng.uniform(*LIGHT_FALLOFF),
        light_angle=rng.uniform(0, 360),
        dark=rng.randint(15, 70),
        light=rng.randint(175, 245),
        background=rng.randint(60, 170),
        noise=rng.uniform(*NOISE_SIGMA),
        dx=rng.randint(-40, 40),
        dy=rng.randint(-30, 30),
    )


def symbol_image(code: Code) -> Image.Image:
    """The code at one pixel per module, quiet zone included (mode "L": 0 dark, 255 light)."""
    modules = qr_image.qr_modules(code.text, code.error_correction)
    count = len(modules)
    image = Image.new("L", (count + 2 * QUIET, count + 2 * QUIET), 255)
    pixels = image.load()
    assert pixels is not None
    for y, row in enumerate(modules):
        for x, dark in enumerate(row):
            if dark:
                pixels[x + QUIET, y + QUIET] = 0
    return image


def _lighting(shot: Shot) -> Image.Image:
    """A brightness map: 255 on the lit side, falling linearly to 255·(1 - falloff) on the other
    (computed on a coarse grid and smoothly enlarged: light varies slowly)."""
    cols, rows = 64, 36
    ux, uy = math.cos(math.radians(shot.light_angle)), math.sin(math.radians(shot.light_angle))
    span = abs(ux) * (cols - 1) + abs(uy) * (rows - 1)
    start = min(0.0, ux * (cols - 1)) + min(0.0, uy * (rows - 1))
    grid = Image.new("L", (cols, rows))
    grid.putdata([round(255 * (1 - shot.falloff * (ux * x + uy * y - start) / span))
                  for y in range(rows) for x in range(cols)])
    return grid.resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)


def render_frame(symbol: Image.Image, shot: Shot, rng: random.Random) -> bytes:
    """One JPEG frame (grayscale, 1280×720) of ``symbol`` taken as ``shot`` says."""
    modules = symbol.width - 2 * QUIET
    full = round(shot.side * symbol.width / modules)  # the quiet zone scales with the symbol
    # Box filtering integrates each pixel over the modules it covers, as a sensor does.
    code = symbol.resize((full, full), Image.Resampling.BOX)
    code = code.point(lambda v: shot.dark + (shot.light - shot.dark) * v // 255)
    # The screen or sheet around the code (a margin of light beyond the quiet zone) turns with it.
    margin = full // 8
    sheet = Image.new("L", (full + 2 * margin, full + 2 * margin), shot.light)
    sheet.paste(code, (margin, margin))
    sheet = sheet.rotate(shot.angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=shot.background)
    frame = Image.new("L", (WIDTH, HEIGHT), shot.background)
    frame.paste(sheet, (WIDTH // 2 + shot.dx - sheet.width // 2, HEIGHT // 2 + shot.dy - sheet.height // 2))
    frame = ImageChops.multiply(frame, _lighting(shot))
    frame = frame.filter(ImageFilter.GaussianBlur(shot.blur))
    frame = ImageChops.add(frame, _noise(rng, shot.noise), scale=1.0, offset=-128)
    out = io.BytesIO()
    frame.save(out, "JPEG", quality=shot.quality)
    return out.getvalue()


def _noise(rng: random.Random, sigma: float) -> Image.Image:
    """Gaussian sensor noise centred on 128, from the seeded generator (uniform bytes mapped through
    the normal distribution's quantiles)."""
    normal = NormalDist(128, sigma)
    table = [max(0, min(255, round(normal.inv_cdf((v + 0.5) / 256)))) for v in range(256)]
    return Image.frombytes("L", (WIDTH, HEIGHT), rng.randbytes(WIDTH * HEIGHT)).point(table)


@dataclass(frozen=True)
class Frame:
    kind: str
    version: int
    side: int
    text: str  # what a decoder must read
    jpeg: bytes


def frames(codes: Sequence[Code], sides: Sequence[int], per_cell: int, seed: int) -> Iterator[Frame]:
    """``per_cell`` frames of every code at every side, drawn from ``seed``."""
    rng = random.Random(seed)
    for code in codes:
        symbol = symbol_image(code)
        version = code.version
        for side in sides:
            for _ in range(per_cell):
                shot = draw_shot(rng, side)
                yield Frame(code.kind, version, side, code.text, render_frame(symbol, shot, rng))
