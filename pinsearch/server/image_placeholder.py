"""Placeholder images for pins without a fetched image, derived from the pin's image signature.

Why: the page must show visually distinct tiles without network access or stored images. The same
signature always gives the same picture (so near-duplicate pins, which share a signature, look alike).
"""

from __future__ import annotations

import hashlib
from html import escape


def placeholder_svg(signature: str, width: int = 236, height: int = 180) -> str:
    """A deterministic SVG (gradient background and a few shapes) from a hash of ``signature``."""
    digest = hashlib.sha256((signature or "").encode("utf-8")).digest()
    hue1 = digest[0] * 360 // 256
    hue2 = (hue1 + 40 + digest[1] % 120) % 360
    shapes = []
    for i in range(4):
        b = digest[2 + i * 5: 7 + i * 5]
        cx, cy = b[0] * width // 256, b[1] * height // 256
        r = 12 + b[2] % 50
        hue = (hue1 + b[3] * 2) % 360
        opacity = 0.25 + (b[4] % 50) / 100
        if b[4] % 2:
            shapes.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="hsl({hue},70%,60%)" opacity="{opacity:.2f}"/>')
        else:
            shapes.append(f'<rect x="{cx - r}" y="{cy - r // 2}" width="{2 * r}" height="{r}" rx="6" '
                          f'fill="hsl({hue},65%,55%)" opacity="{opacity:.2f}"/>')
    label = escape((signature or "no image")[:12])
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="placeholder {label}">'
            f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
            f'<stop offset="0" stop-color="hsl({hue1},60%,85%)"/><stop offset="1" stop-color="hsl({hue2},60%,70%)"/>'
            f'</linearGradient></defs><rect width="100%" height="100%" fill="url(#g)"/>{"".join(shapes)}'
            f'<text x="8" y="{height - 8}" font-family="monospace" font-size="10" fill="rgba(0,0,0,.45)">{label}</text>'
            f'</svg>')
