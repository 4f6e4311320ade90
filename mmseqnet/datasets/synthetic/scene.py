"""Scene rendering: backgrounds, camera looks, placement and occlusion."""
from dataclasses import dataclass
from typing import List, Optional, Tuple

import cv2
import numpy as np

from .appearance import CLOTHING_COLOURS, PersonAppearance, draw_person

MIN_PERSON_HEIGHT = 40
MAX_PERSON_HEIGHT = 140


@dataclass
class CameraLook:
    """How a camera renders colours.

    Attributes:
        gains (np.ndarray): BGR channel gains (3,) (colour cast).
        gamma (float): Gamma applied to [0, 1] intensities.
        offset (float): Brightness offset in [0, 255] units.
        noise (float): Std of the Gaussian sensor noise.
        blur (bool): Slight optical blur.
    """
    gains: np.ndarray
    gamma: float
    offset: float
    noise: float
    blur: bool


@dataclass
class SceneStyle:
    """A place seen by a camera.

    Attributes:
        background (np.ndarray): Static BGR background (H, W, 3).
        horizon (int): Row where the ground starts; people stand below it.
    """
    background: np.ndarray
    horizon: int


@dataclass
class PersonSpec:
    """A person to put into a frame.

    Attributes:
        appearance (PersonAppearance): Who.
        centre_x (float, optional): Horizontal centre of the box; near 0
            the box starts at a negative x and the image border cuts the
            person. Defaults to None (random, avoiding other people).
        depth (float, optional): Distance in (0, 1]: 0 at the horizon, 1 at
            the bottom edge; decides the foot row and the size. Defaults to
            None (random).
        facing (str, optional): ``'front'`` or ``'back'``, see
            :func:`draw_person`. Defaults to None (random).
        phase (float, optional): Walking phase in [-1, 1], see
            :func:`draw_person`. Defaults to None (random); a video sets it
            so that the legs swing smoothly from frame to frame.
    """
    appearance: PersonAppearance
    centre_x: Optional[float] = None
    depth: Optional[float] = None
    facing: Optional[str] = None
    phase: Optional[float] = None


@dataclass
class RenderedPerson:
    """Where a person ended up.

    Attributes:
        box (np.ndarray): int (4,) ``[x, y, w, h]`` of the whole body,
            occluded parts included.
        visible (float): Fraction of the body's pixels left visible.
    """
    box: np.ndarray
    visible: float


def random_look(rng: np.random.Generator) -> CameraLook:
    """Draw a camera's colour rendition (cast, contrast, noise).

    Args:
        rng (np.random.Generator): Random source.

    Returns:
        CameraLook: The look.
    """
    return CameraLook(
        gains=rng.uniform(0.78, 1.18, size=3),
        gamma=float(rng.uniform(0.8, 1.25)),
        offset=float(rng.uniform(-25, 20)),
        noise=float(rng.uniform(2, 7)),
        blur=bool(rng.random() < 0.4))


def _random_colour(rng: np.random.Generator, low: int,
                   high: int) -> Tuple[int, int, int]:
    base = rng.integers(low, high)
    return tuple(int(np.clip(base + d, 0, 255))
                 for d in rng.integers(-18, 19, size=3))


def random_scene_style(rng: np.random.Generator,
                       size: Tuple[int, int]) -> SceneStyle:
    """Draw a street scene: facades or sky, pavement, trees and clutter.

    Args:
        rng (np.random.Generator): Random source.
        size (tuple[int, int]): Image (width, height).

    Returns:
        SceneStyle: The place.
    """
    width, height = size
    horizon = int(height * rng.uniform(0.3, 0.45))
    img = np.zeros((height, width, 3), np.uint8)
    # Upper part: sky with building blocks, or a facade with windows.
    img[:horizon] = _random_colour(rng, 150, 230)
    x = int(rng.integers(-20, 10))
    while x < width:
        block_w = int(rng.integers(width // 8, width // 3))
        top = int(rng.integers(0, max(1, horizon // 2)))
        wall = _random_colour(rng, 60, 200)
        cv2.rectangle(img, (x, top), (x + block_w, horizon), wall, -1)
        window = _random_colour(rng, 30, 120)
        step = int(rng.integers(10, 18))
        for wy in range(top + 4, horizon - 8, step):
            for wx in range(x + 4, x + block_w - 6, step):
                cv2.rectangle(img, (wx, wy), (wx + step // 2, wy + step // 2),
                              window, -1)
        x += block_w + int(rng.integers(0, 12))
    # Ground: pavement with perspective joints and sometimes a road band.
    img[horizon:] = _random_colour(rng, 90, 190)
    joint = tuple(int(c * 0.8) for c in img[-1, 0])
    vanish = (int(rng.integers(width // 4, 3 * width // 4)), horizon)
    for bx in np.linspace(-width, 2 * width, 14):
        cv2.line(img, vanish, (int(bx), height), joint, 1, cv2.LINE_AA)
    for t in np.linspace(0.1, 1, 7)**2:
        y = int(horizon + t * (height - horizon))
        cv2.line(img, (0, y), (width, y), joint, 1)
    if rng.random() < 0.5:
        road_top = int(horizon + (height - horizon) * rng.uniform(0.0, 0.2))
        road_h = int((height - horizon) * 0.15)
        cv2.rectangle(img, (0, road_top), (width, road_top + road_h),
                      _random_colour(rng, 50, 90), -1)
        for dx in range(0, width, 40):
            cv2.line(img, (dx, road_top + road_h // 2),
                     (dx + 18, road_top + road_h // 2), (220, 220, 220), 2)
    # Clutter standing on the ground line: trees, poles, bins, posters in
    # clothing colours (so colour alone does not find people).
    for _ in range(int(rng.integers(3, 8))):
        kind = rng.choice(['tree', 'pole', 'bin', 'poster'])
        bx = int(rng.integers(0, width))
        base = horizon + int(rng.integers(0, max(1, (height - horizon) // 4)))
        if kind == 'tree':
            cv2.line(img, (bx, base), (bx, base - 30), (30, 50, 70), 4)
            cv2.circle(img, (bx, base - 40), int(rng.integers(10, 22)),
                       _random_colour(rng, 40, 110), -1, cv2.LINE_AA)
        elif kind == 'pole':
            cv2.line(img, (bx, base), (bx, max(0, base - 70)), (60, 60, 60),
                     2)
        elif kind == 'bin':
            cv2.rectangle(img, (bx, base - 14), (bx + 9, base),
                          _random_colour(rng, 30, 120), -1)
        else:
            colour = CLOTHING_COLOURS[int(rng.integers(
                len(CLOTHING_COLOURS)))][::-1]
            pw, ph = int(rng.integers(12, 30)), int(rng.integers(20, 45))
            cv2.rectangle(img, (bx, max(0, horizon - ph - 5)),
                          (bx + pw, horizon - 5), colour, -1)
    return SceneStyle(background=img, horizon=horizon)


def _draw_occluder(rng: np.random.Generator, img: np.ndarray,
                   owner: np.ndarray, box: np.ndarray) -> None:
    """Draw a car, hedge, wall or pole over part of ``box`` (x, y, w, h)."""
    x, y, w, h = box
    kind = rng.choice(['car', 'hedge', 'wall', 'pole'])
    region = np.zeros(owner.shape, np.uint8)
    if kind == 'pole':
        px = int(x + w * rng.uniform(0.2, 0.8))
        thick = max(3, int(w * rng.uniform(0.15, 0.35)))
        cv2.line(region, (px, 0), (px, img.shape[0]), 1, thick)
        colour = _random_colour(rng, 40, 110)
    else:
        top = int(y + h * rng.uniform(0.45, 0.75))
        left = int(x - w * rng.uniform(0.3, 1.5))
        right = int(x + w * rng.uniform(1.3, 2.5))
        bottom = img.shape[0] if kind != 'wall' else int(y + h * 1.02)
        if kind == 'hedge':
            for cx in range(left, right, max(4, w // 3)):
                cv2.circle(region, (cx, top + 6), max(6, w // 3), 1, -1)
            cv2.rectangle(region, (left, top + 6), (right, bottom), 1, -1)
            colour = _random_colour(rng, 40, 100)
        else:
            cv2.rectangle(region, (left, top), (right, bottom), 1, -1)
            colour = CLOTHING_COLOURS[int(rng.integers(
                len(CLOTHING_COLOURS)))][::-1] if kind == 'car' else \
                _random_colour(rng, 100, 200)
    inside = region > 0
    img[inside] = colour
    if kind == 'car':
        # Windows and a wheel make it read as a car, not a person's shirt.
        ys, xs = np.nonzero(inside)
        wy = int(ys.min() + 3)
        cv2.rectangle(img, (int(xs.min()) + 4, wy),
                      (int(xs.max()) - 4, wy + max(3, (y + h - wy) // 4)),
                      (70, 60, 50), -1)
        cv2.circle(img, (int(xs.min()) + 10, int(y + h)), 7, (20, 20, 20),
                   -1)
    owner[inside] = -1


def render_frame(rng: np.random.Generator,
                 style: SceneStyle,
                 look: CameraLook,
                 people: List[PersonSpec],
                 occluder_prob: float = 0.35
                 ) -> Tuple[np.ndarray, List[RenderedPerson]]:
    """Render people into a scene as seen by a camera.

    People further away (higher foot point) are smaller and drawn first, so
    nearer people occlude them; with ``occluder_prob`` one person is also
    partly hidden by a foreground object.

    Args:
        rng (np.random.Generator): Random source.
        style (SceneStyle): The place.
        look (CameraLook): The camera's colour rendition.
        people (list[PersonSpec]): Who is in the frame.
        occluder_prob (float): Probability of a foreground occluder.
            Defaults to 0.35.

    Returns:
        tuple[np.ndarray, list[RenderedPerson]]: The BGR uint8 image and,
        aligned with ``people``, where each person is.
    """
    img = style.background.copy()
    height, width = img.shape[:2]
    ground = height - style.horizon
    max_height = min(MAX_PERSON_HEIGHT, int(0.6 * height))
    owner = np.full((height, width), -1, np.int32)
    placed = []  # (foot_y, index, patch, mask, x, y)
    boxes = []
    for index, spec in enumerate(people):
        for _ in range(15):
            t = spec.depth if spec.depth is not None else \
                rng.uniform(0.05, 1.0)
            foot_y = style.horizon + t * ground - 2
            body = (MIN_PERSON_HEIGHT + (max_height - MIN_PERSON_HEIGHT) *
                    t) * spec.appearance.stature
            body = int(np.clip(body, MIN_PERSON_HEIGHT, foot_y))
            facing = rng.choice(['front', 'back']) if spec.facing is None \
                else spec.facing
            phase = rng.uniform(-1, 1) if spec.phase is None else spec.phase
            patch, mask = draw_person(spec.appearance, body, facing, phase)
            ph, pw = mask.shape
            x = spec.centre_x - pw / 2 if spec.centre_x is not None else \
                rng.uniform(0, width - pw)
            box = np.array([x, foot_y - ph, pw, ph])
            if spec.centre_x is not None or all(
                    _iou(box, other) < 0.25 for other in boxes):
                break
        boxes.append(box)
        placed.append((foot_y, index, patch, mask, int(round(box[0])),
                       int(round(box[1]))))
    for _, index, patch, mask, x, y in sorted(placed, key=lambda p: p[0]):
        _paste(img, owner, patch, mask, x, y, index)
    if people and rng.random() < occluder_prob:
        target = int(rng.integers(len(people)))
        _draw_occluder(rng, img, owner, boxes[target].astype(int))

    rendered = []
    for (_, index, _, mask, x, y) in placed:
        area = int(mask.sum())
        visible = int((owner == index).sum()) / area
        rendered.append(
            RenderedPerson(
                box=np.array([x, y, mask.shape[1], mask.shape[0]]),
                visible=visible))
    return _apply_look(rng, img, look), rendered


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two ``[x, y, w, h]`` boxes."""
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def _paste(img: np.ndarray, owner: np.ndarray, patch: np.ndarray,
           mask: np.ndarray, x: int, y: int, index: int) -> None:
    """Paste a person patch at (x, y), cut by the image border."""
    height, width = img.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1 = min(x + patch.shape[1], width)
    y1 = min(y + patch.shape[0], height)
    if x1 <= x0 or y1 <= y0:
        return
    src = (slice(y0 - y, y1 - y), slice(x0 - x, x1 - x))
    m = mask[src]
    img[y0:y1, x0:x1][m] = patch[src][m]
    owner[y0:y1, x0:x1][m] = index


def _apply_look(rng: np.random.Generator, img: np.ndarray,
                look: CameraLook) -> np.ndarray:
    """Colour cast, gamma, vignetting and sensor noise of a camera."""
    height, width = img.shape[:2]
    out = (img.astype(np.float32) / 255.0)**look.gamma * 255.0
    out = out * look.gains[None, None, :] + look.offset
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    radius = ((xx / width - 0.5)**2 + (yy / height - 0.5)**2)
    out *= (1.0 - 0.35 * radius)[..., None]
    out += rng.normal(0, look.noise, size=out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if look.blur:
        out = cv2.GaussianBlur(out, (3, 3), 0)
    return out
