"""Procedural pedestrians whose identity is carried by their appearance."""
import dataclasses
from dataclasses import dataclass
from typing import List, Tuple

import cv2
import numpy as np

# Clothing colours (RGB). A small palette on purpose: different identities
# often share colours and must be told apart by patterns and details.
CLOTHING_COLOURS = (
    (25, 25, 28), (235, 235, 230), (128, 128, 132), (30, 40, 90),
    (40, 90, 190), (140, 190, 230), (190, 30, 35), (110, 20, 30),
    (40, 120, 60), (110, 120, 50), (230, 200, 40), (230, 120, 30),
    (230, 150, 180), (110, 50, 140), (100, 65, 35), (215, 195, 160),
    (40, 140, 140),
)
SKIN_TONES = ((240, 200, 170), (220, 170, 130), (180, 125, 90),
              (120, 80, 55), (90, 60, 40))
HAIR_COLOURS = ((20, 15, 10), (70, 45, 25), (140, 100, 50), (200, 170, 110),
                (150, 150, 150))
HAIR_STYLES = ('short', 'long', 'bun', 'bald')
TOP_PATTERNS = ('plain', 'hstripes', 'vstripes', 'check', 'logo', 'twotone')
SLEEVES = ('long', 'short')
BOTTOM_TYPES = ('trousers', 'shorts', 'skirt')
ACCESSORIES = ('none', 'backpack', 'shoulder_bag', 'hat', 'scarf')
# Attributes changed to derive a look-alike from an existing identity.
_DETAIL_ATTRIBUTES = ('top_pattern', 'top_colour2', 'sleeves', 'accessory',
                      'accessory_colour', 'hair_style', 'shoe_colour',
                      'bottom_type')


@dataclass(frozen=True)
class PersonAppearance:
    """Everything that identifies a person; colours are palette indices.

    Attributes:
        skin (int): Index into ``SKIN_TONES``.
        hair_colour (int): Index into ``HAIR_COLOURS``.
        hair_style (str): One of ``HAIR_STYLES``.
        top_colour (int): Index into ``CLOTHING_COLOURS``.
        top_colour2 (int): Pattern colour (``CLOTHING_COLOURS``).
        top_pattern (str): One of ``TOP_PATTERNS``.
        sleeves (str): One of ``SLEEVES``.
        bottom_type (str): One of ``BOTTOM_TYPES``.
        bottom_colour (int): Index into ``CLOTHING_COLOURS``.
        shoe_colour (int): Index into ``CLOTHING_COLOURS``.
        accessory (str): One of ``ACCESSORIES``.
        accessory_colour (int): Index into ``CLOTHING_COLOURS``.
        build (float): Width factor, about 0.85 (slim) to 1.2 (broad).
        stature (float): Height factor, about 0.9 to 1.08.
    """
    skin: int
    hair_colour: int
    hair_style: str
    top_colour: int
    top_colour2: int
    top_pattern: str
    sleeves: str
    bottom_type: str
    bottom_colour: int
    shoe_colour: int
    accessory: str
    accessory_colour: int
    build: float
    stature: float

    def key(self) -> Tuple:
        """The discrete attributes: two identities never share them."""
        return dataclasses.astuple(self)[:-2]


def _random_value(rng: np.random.Generator, attribute: str):
    """Draw one attribute value."""
    if attribute in ('top_colour', 'top_colour2', 'bottom_colour',
                     'shoe_colour', 'accessory_colour'):
        return int(rng.integers(len(CLOTHING_COLOURS)))
    choices = dict(
        skin=range(len(SKIN_TONES)),
        hair_colour=range(len(HAIR_COLOURS)),
        hair_style=HAIR_STYLES,
        top_pattern=TOP_PATTERNS,
        sleeves=SLEEVES,
        bottom_type=BOTTOM_TYPES,
        accessory=ACCESSORIES)[attribute]
    return choices[int(rng.integers(len(choices)))]


def random_appearance(rng: np.random.Generator) -> PersonAppearance:
    """Draw a person's appearance at random.

    Args:
        rng (np.random.Generator): Random source.

    Returns:
        PersonAppearance: The appearance.
    """
    values = {
        field.name: _random_value(rng, field.name)
        for field in dataclasses.fields(PersonAppearance)
        if field.name not in ('build', 'stature')
    }
    return PersonAppearance(
        **values,
        build=float(rng.uniform(0.85, 1.2)),
        stature=float(rng.uniform(0.9, 1.08)))


def sample_identities(rng: np.random.Generator, num: int,
                      look_alike_prob: float = 0.4) -> List[PersonAppearance]:
    """Draw ``num`` distinct identities, many of them look-alikes.

    A look-alike copies an earlier identity (colours, build) and changes one
    or two details (pattern, accessory, hair, shoes, ...), so that matching
    needs more than the dominant colours.

    Args:
        rng (np.random.Generator): Random source.
        num (int): Number of identities.
        look_alike_prob (float): Probability that an identity is derived
            from an earlier one. Defaults to 0.4.

    Returns:
        list[PersonAppearance]: Identities with pairwise different
        :meth:`PersonAppearance.key`.
    """
    identities, keys = [], set()
    while len(identities) < num:
        if identities and rng.random() < look_alike_prob:
            source = identities[int(rng.integers(len(identities)))]
            changes = rng.choice(
                _DETAIL_ATTRIBUTES, size=int(rng.integers(1, 3)),
                replace=False)
            candidate = dataclasses.replace(
                source, **{a: _random_value(rng, a)
                           for a in changes})
        else:
            candidate = random_appearance(rng)
        if candidate.key() not in keys:
            keys.add(candidate.key())
            identities.append(candidate)
    return identities


def _bgr(rgb: Tuple[int, int, int]) -> Tuple[int, int, int]:
    return (int(rgb[2]), int(rgb[1]), int(rgb[0]))


def draw_person(appearance: PersonAppearance, height: int, facing: str,
                phase: float) -> Tuple[np.ndarray, np.ndarray]:
    """Draw a walking pedestrian on a transparent patch.

    Args:
        appearance (PersonAppearance): Who to draw.
        height (int): Body height in pixels (head to shoes).
        facing (str): ``'front'`` or ``'back'`` (the backpack shows fully,
            the face does not).
        phase (float): Walking phase in [-1, 1]: leg and arm swing.

    Returns:
        tuple[np.ndarray, np.ndarray]: The BGR uint8 patch (h, w, 3) and its
        bool mask (h, w), both cropped tightly to the drawn pixels.
    """
    u = height / 100.0
    b = appearance.build
    width = int(np.ceil(60 * u * b)) + 4
    canvas = np.zeros((int(np.ceil(100 * u)) + 4, width, 3), np.uint8)
    mask = np.zeros(canvas.shape[:2], np.uint8)
    cx = width / 2.0
    skin = _bgr(SKIN_TONES[appearance.skin])
    hair = _bgr(HAIR_COLOURS[appearance.hair_colour])
    top = _bgr(CLOTHING_COLOURS[appearance.top_colour])
    top2 = _bgr(CLOTHING_COLOURS[appearance.top_colour2])
    bottom = _bgr(CLOTHING_COLOURS[appearance.bottom_colour])
    shoes = _bgr(CLOTHING_COLOURS[appearance.shoe_colour])
    accessory = _bgr(CLOTHING_COLOURS[appearance.accessory_colour])

    def pt(x: float, y: float) -> Tuple[int, int]:
        return (int(round(cx + x * u)), int(round(y * u)) + 1)

    def line(p: Tuple, q: Tuple, colour: Tuple, thick: float) -> None:
        for img, c in ((canvas, colour), (mask, 255)):
            cv2.line(img, pt(*p), pt(*q), c, max(1, int(round(thick * u))),
                     cv2.LINE_AA)

    def poly(points: List[Tuple[float, float]], colour: Tuple) -> None:
        contour = np.array([pt(*p) for p in points], np.int32)
        for img, c in ((canvas, colour), (mask, 255)):
            cv2.fillPoly(img, [contour], c, cv2.LINE_AA)

    def ellipse(centre: Tuple, axes: Tuple, colour: Tuple, start: int = 0,
                end: int = 360) -> None:
        size = (max(1, int(round(axes[0] * u))),
                max(1, int(round(axes[1] * u))))
        for img, c in ((canvas, colour), (mask, 255)):
            cv2.ellipse(img, pt(*centre), size, 0, start, end, c, -1,
                        cv2.LINE_AA)

    swing = 6.0 * phase
    # Legs and shoes first: the hips and the skirt cover their tops.
    leg_colour = bottom if appearance.bottom_type == 'trousers' else skin
    for side in (-1, 1):
        hip = (side * 4.5 * b, 52)
        foot = (side * 4.5 * b + side * swing, 94)
        line(hip, foot, leg_colour, 7 * b)
        if appearance.bottom_type == 'shorts':
            knee = (hip[0] + (foot[0] - hip[0]) * 0.35, 66)
            line(hip, knee, bottom, 7.5 * b)
        ellipse((foot[0] + side * 1.0, 96), (4.2, 2.6), shoes)
    if appearance.bottom_type == 'skirt':
        poly([(-9 * b, 48), (9 * b, 48), (13 * b, 72), (-13 * b, 72)],
             bottom)
    else:
        poly([(-9.5 * b, 47), (9.5 * b, 47), (9 * b, 56), (-9 * b, 56)],
             bottom)

    if appearance.hair_style == 'long':
        poly([(-6.5, 6), (6.5, 6), (7, 22), (-7, 22)], hair)
    if appearance.accessory == 'backpack' and facing == 'front':
        poly([(10 * b, 20), (15 * b, 20), (15 * b, 42), (10 * b, 42)],
             accessory)

    # Torso, with the pattern restricted to it.
    torso = [(-11 * b, 16), (11 * b, 16), (9.5 * b, 49), (-9.5 * b, 49)]
    poly(torso, top)
    torso_mask = np.zeros_like(mask)
    cv2.fillPoly(torso_mask, [np.array([pt(*p) for p in torso], np.int32)],
                 255)
    pattern = canvas.copy()
    pattern_drawn = True
    if appearance.top_pattern in ('hstripes', 'check'):
        for y in np.arange(19, 49, 6):
            cv2.line(pattern, pt(-12 * b, y), pt(12 * b, y), top2,
                     max(1, int(round(2.2 * u))))
    if appearance.top_pattern in ('vstripes', 'check'):
        for x in np.arange(-9, 10, 6) * b:
            cv2.line(pattern, pt(x, 16), pt(x, 49), top2,
                     max(1, int(round(2.2 * u))))
    if appearance.top_pattern == 'logo':
        cv2.circle(pattern, pt(0, 29), max(1, int(round(4.5 * u))), top2, -1,
                   cv2.LINE_AA)
    elif appearance.top_pattern == 'twotone':
        cv2.rectangle(pattern, pt(-12 * b, 16), pt(12 * b, 30), top2, -1)
    elif appearance.top_pattern == 'plain':
        pattern_drawn = False
    if pattern_drawn:
        inside = torso_mask > 0
        canvas[inside] = pattern[inside]

    if appearance.accessory == 'backpack' and facing == 'back':
        poly([(-8 * b, 19), (8 * b, 19), (7.5 * b, 44), (-7.5 * b, 44)],
             accessory)
    elif appearance.accessory == 'backpack':
        for side in (-1, 1):
            line((side * 6 * b, 16), (side * 6.5 * b, 34), accessory, 1.8)
    elif appearance.accessory == 'shoulder_bag':
        line((-8 * b, 17), (11 * b, 46), accessory, 1.6)
        poly([(10 * b, 42), (17 * b, 42), (17 * b, 54), (10 * b, 54)],
             accessory)
    elif appearance.accessory == 'scarf':
        poly([(-7, 14), (7, 14), (7, 19), (-7, 19)], accessory)

    # Arms swing against the legs.
    for side in (-1, 1):
        shoulder = (side * 11 * b, 18)
        hand = (side * (12.5 * b) - side * swing * 0.6, 48)
        sleeve_colour = top
        line(shoulder, hand, skin, 4.5 * b)
        elbow = (shoulder[0] + (hand[0] - shoulder[0]) *
                 (0.9 if appearance.sleeves == 'long' else 0.4),
                 18 + 30 * (0.9 if appearance.sleeves == 'long' else 0.4))
        line(shoulder, elbow, sleeve_colour, 5 * b)
        ellipse(hand, (2.3, 2.3), skin)

    ellipse((0, 15.5), (2.5, 2.0), skin)  # neck
    ellipse((0, 8), (5.5, 7), skin)  # head
    if facing == 'back' and appearance.hair_style != 'bald':
        ellipse((0, 7.5), (5.7, 7), hair)
    elif appearance.hair_style != 'bald':
        ellipse((0, 6.5), (5.8, 5.5), hair, 180, 360)
    if appearance.hair_style == 'bun':
        ellipse((0, 0.8), (2.8, 2.5), hair)
    if appearance.accessory == 'hat':
        ellipse((0, 5.5), (6.2, 5), accessory, 180, 360)
        line((-8, 5.5), (8 if facing == 'front' else 6, 5.5), accessory, 1.6)
    if facing == 'front' and height >= 70:
        for side in (-1, 1):
            cv2.circle(canvas, pt(side * 2, 8.5), max(1, int(round(0.6 * u))),
                       (30, 30, 30), -1)

    # Shade the body left to right so it reads as round, not flat.
    columns = np.linspace(-1, 1, width)
    shade = 1.08 - 0.22 * columns**2
    canvas = np.clip(canvas * shade[None, :, None], 0, 255).astype(np.uint8)

    # Anti-aliased edges are half covered: count a pixel as body from 50%.
    body = mask > 127
    ys, xs = np.nonzero(body)
    crop = (slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1))
    return canvas[crop], body[crop]
