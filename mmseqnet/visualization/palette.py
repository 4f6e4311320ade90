"""The colours of every person-search picture, in RGB (mmengine's order)."""
from typing import NamedTuple, Tuple

import cv2
import numpy as np

RGB = Tuple[int, int, int]


class SearchPalette(NamedTuple):
    """What each colour means, the same in every picture of the package.

    Attributes:
        query (RGB): The query person.
        correct (RGB): A match that is the query person (or, on a video
            frame, a detection similar enough to be drawn as a match).
        wrong (RGB): A match that is another person.
        neutral (RGB): A match whose correctness is unknown.
        unlabeled (RGB): A person without identity, or a detection that is
            not a match.
        ink (RGB): Text on white.
        title (RGB): The background of a picture's title tag.
    """
    query: RGB
    correct: RGB
    wrong: RGB
    neutral: RGB
    unlabeled: RGB
    ink: RGB
    title: RGB


PALETTE = SearchPalette(
    query=(0, 128, 255),
    correct=(0, 200, 0),
    wrong=(230, 0, 0),
    neutral=(255, 165, 0),
    unlabeled=(160, 160, 160),
    ink=(0, 0, 0),
    title=(40, 40, 40))


def person_id_color(person_id: int) -> RGB:
    """A bright colour fixed per person id, the same in every picture.

    Args:
        person_id (int): A labeled person id (>= 0).

    Returns:
        RGB: The id's colour.
    """
    # 47 is prime to 180: neighbouring ids land far apart on the hue wheel.
    hue = (int(person_id) * 47) % 180
    hsv = np.uint8([[[hue, 220, 255]]])
    return tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
