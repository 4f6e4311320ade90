"""Pictures of person search: ranked matches, gallery frames, video frames."""
from typing import Optional, Sequence, Tuple, Union

import cv2
import mmcv
import numpy as np
from mmdet.registry import VISUALIZERS
from mmdet.visualization import DetLocalVisualizer

from mmseqnet.datasets import UNLABELED_PERSON_ID
from .palette import PALETTE, RGB, person_id_color

ImageLike = Union[str, np.ndarray]

_FONT = cv2.FONT_HERSHEY_SIMPLEX


@VISUALIZERS.register_module()
class PersonSearchVisualizer(DetLocalVisualizer):
    """mmdet's visualiser that also draws person search, in one palette.

    Three pictures, each returned as an RGB uint8 array (mmengine's order;
    :meth:`show` shows one) and written to ``out_file``, or else handed to
    the visualisation backends, as :meth:`DetLocalVisualizer.add_datasample`
    does:

    - :meth:`draw_ranked_matches`: the query crop and its ranked matches;
    - :meth:`draw_gallery_frame`: a frame with its persons and identities;
    - :meth:`draw_video_frame`: a frame with every detection's similarity to
      the query.

    Colours come from :data:`~mmseqnet.visualization.PALETTE` and
    :func:`~mmseqnet.visualization.person_id_color`. Drawing uses OpenCV,
    not mmengine's matplotlib canvas: a picture is composed from crops of
    several images, and videos are drawn frame by frame, where the canvas
    would cost a render per frame. Image paths are read as RGB; arrays are
    taken as RGB.

    Args:
        name (str): Name of the instance (mmengine's ``ManagerMixin``).
            Defaults to 'visualizer'.
        **kwargs: Other arguments of :class:`DetLocalVisualizer`
            (``vis_backends``, ``save_dir``, ...).
    """

    def __init__(self, name: str = 'visualizer', **kwargs) -> None:
        super().__init__(name=name, **kwargs)

    def draw_ranked_matches(self,
                            query_image: ImageLike,
                            query_bbox: Sequence[float],
                            match_images: Sequence[ImageLike],
                            match_bboxes: Sequence[Sequence[float]],
                            similarities: Sequence[float],
                            correct: Optional[Sequence[bool]] = None,
                            ranks: Optional[Sequence[int]] = None,
                            query_caption: str = 'query',
                            tile_height: int = 256,
                            out_file: Optional[str] = None,
                            name: str = 'ranked_matches',
                            step: int = 0) -> np.ndarray:
        """Draw a query crop beside its ranked matches, in one row.

        Each crop is scaled to ``tile_height``, framed in its colour (query;
        correct or wrong when ``correct`` is given, neutral otherwise) and
        captioned ``#<rank> <similarity>``.

        Args:
            query_image (str | np.ndarray): The query image.
            query_bbox (Sequence[float]): The query box, xyxy pixels.
            match_images (Sequence[str | np.ndarray]): The image of each
                match, best first.
            match_bboxes (Sequence[Sequence[float]]): (M, 4) xyxy boxes.
            similarities (Sequence[float]): (M,) similarity of each match.
            correct (Sequence[bool], optional): (M,) whether each match is
                the query person. Defaults to None (unknown).
            ranks (Sequence[int], optional): (M,) ranks to print. Defaults
                to None: 1, 2, ...
            query_caption (str): Caption of the query crop.
                Defaults to 'query'.
            tile_height (int): Height of every crop. Defaults to 256.
            out_file (str, optional): Write the picture here.
                Defaults to None.
            name (str): Its name for the backends. Defaults to
                'ranked_matches'.
            step (int): Its step for the backends. Defaults to 0.

        Returns:
            np.ndarray: (H, W, 3) RGB picture, H = ``tile_height`` + 40.
        """
        count = len(match_images)
        lengths = {len(match_bboxes), len(similarities)}
        if correct is not None:
            lengths.add(len(correct))
        if ranks is not None:
            lengths.add(len(ranks))
        if lengths != {count}:
            raise ValueError(
                'draw_ranked_matches: match_images, match_bboxes, '
                'similarities (and correct, ranks when given) need one entry '
                f'per match; got lengths {count} and {sorted(lengths)}')
        ranks = range(1, count + 1) if ranks is None else ranks
        tiles = [
            _framed(
                _crop(_read(query_image), query_bbox, tile_height),
                PALETTE.query, query_caption)
        ]
        for i in range(count):
            if correct is None:
                colour = PALETTE.neutral
            else:
                colour = PALETTE.correct if correct[i] else PALETTE.wrong
            tiles.append(
                _framed(
                    _crop(_read(match_images[i]), match_bboxes[i],
                          tile_height), colour,
                    f'#{ranks[i]} {similarities[i]:.2f}'))
        gap = np.full((tiles[0].shape[0], 12, 3), 255, np.uint8)
        picture = np.hstack(
            [part for tile in tiles for part in (tile, gap)][:-1])
        return self._output(picture, out_file, name, step)

    def draw_gallery_frame(self,
                           image: ImageLike,
                           bboxes: np.ndarray,
                           person_ids: Sequence[int],
                           query_bbox: Optional[Sequence[float]] = None,
                           query_caption: str = 'query',
                           title: Optional[str] = None,
                           out_file: Optional[str] = None,
                           name: str = 'gallery_frame',
                           step: int = 0) -> np.ndarray:
        """Draw a frame's persons, each identity in a colour of its own.

        A labeled person gets :func:`person_id_color` and an ``id <n>`` tag,
        an unlabeled one (``UNLABELED_PERSON_ID``) the unlabeled colour and
        an ``unlabeled`` tag; the query box, when given, is drawn thick in
        the query colour with ``query_caption`` under it.

        Args:
            image (str | np.ndarray): The frame.
            bboxes (np.ndarray): (N, 4) xyxy boxes.
            person_ids (Sequence[int]): (N,) person id of each box.
            query_bbox (Sequence[float], optional): A query box, xyxy.
                Defaults to None.
            query_caption (str): Tag of the query box. Defaults to 'query'.
            title (str, optional): Written in the top-left corner.
                Defaults to None.
            out_file (str, optional): Write the picture here.
                Defaults to None.
            name (str): Its name for the backends. Defaults to
                'gallery_frame'.
            step (int): Its step for the backends. Defaults to 0.

        Returns:
            np.ndarray: (H, W, 3) RGB picture of the frame's size.
        """
        labeled = [pid != UNLABELED_PERSON_ID for pid in person_ids]
        img = _tagged_boxes(
            image, bboxes,
            [person_id_color(pid) if known else PALETTE.unlabeled
             for pid, known in zip(person_ids, labeled)],
            [f'id {pid}' if known else 'unlabeled'
             for pid, known in zip(person_ids, labeled)],
            [1] * len(person_ids), 'draw_gallery_frame', 'person ids')
        if query_bbox is not None:
            thick = _line_width(img)
            _rectangle(img, query_bbox, PALETTE.query, thick * 3)
            x1, _, _, y2 = (int(round(v)) for v in query_bbox)
            # Under the box: the person's own tag stands above it.
            _draw_tag(img, query_caption, (x1, y2 + 2 + 12 * thick),
                      PALETTE.query)
        if title is not None:
            _draw_tag(img, title, (0, 0), PALETTE.title)
        return self._output(img, out_file, name, step)

    def draw_video_frame(self,
                         image: ImageLike,
                         bboxes: np.ndarray,
                         similarities: Sequence[float],
                         sim_thr: float = 0.5,
                         out_file: Optional[str] = None,
                         name: str = 'video_frame',
                         step: int = 0,
                         matched: Optional[Sequence[bool]] = None,
                         title: Optional[str] = None) -> np.ndarray:
        """Draw a frame's detections with their similarity to the query.

        Matches (detections at ``sim_thr`` or above, or those given as
        ``matched``) are drawn thick, in the correct colour; the others
        thin, in the unlabeled colour. Each is tagged with its similarity.

        Args:
            image (str | np.ndarray): The frame.
            bboxes (np.ndarray): (N, 4) xyxy detections.
            similarities (Sequence[float]): (N,) similarity to the query.
            sim_thr (float): Lowest similarity drawn as a match.
                Defaults to 0.5.
            out_file (str, optional): Write the picture here.
                Defaults to None.
            name (str): Its name for the backends. Defaults to
                'video_frame'.
            step (int): Its step for the backends (the frame index).
                Defaults to 0.
            matched (Sequence[bool], optional): (N,) which detections are
                matches, e.g. those of the query's track. Defaults to None:
                those at ``sim_thr`` or above.
            title (str, optional): Written in the top-left corner, e.g. the
                track's time span. Defaults to None.

        Returns:
            np.ndarray: (H, W, 3) RGB picture of the frame's size.
        """
        if matched is None:
            matched = [sim >= sim_thr for sim in similarities]
        if len(matched) != len(similarities):
            raise ValueError(
                f'draw_video_frame: {len(similarities)} similarities but '
                f'{len(matched)} matched flags')
        img = _tagged_boxes(
            image, bboxes,
            [PALETTE.correct if m else PALETTE.unlabeled for m in matched],
            [f'{sim:.2f}' for sim in similarities],
            [3 if m else 1 for m in matched], 'draw_video_frame',
            'similarities')
        if title is not None:
            _draw_tag(img, title, (0, 0), PALETTE.title)
        return self._output(img, out_file, name, step)

    def _output(self, picture: np.ndarray, out_file: Optional[str], name: str,
                step: int) -> np.ndarray:
        """Write a picture, or else log it, as ``add_datasample`` does."""
        if out_file is not None:
            mmcv.imwrite(picture[..., ::-1], out_file)
        else:
            self.add_image(name, picture, step)
        return picture


def _read(image: ImageLike) -> np.ndarray:
    """An RGB uint8 image from a path, or the given array."""
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(
                f'An image array is (H, W, 3) RGB, got shape {image.shape}')
        return image
    # Decoded as BGR first: mmcv's RGB read fails inside OpenCV, without the
    # file's name, on a file that does not decode.
    img = mmcv.imread(image)
    if img is None:
        raise ValueError(f'{image} is not a readable image.')
    return mmcv.bgr2rgb(img)


def _crop(image: np.ndarray, bbox: Sequence[float],
          height: int) -> np.ndarray:
    """The box's pixels (at least one) scaled to ``height``."""
    h, w = image.shape[:2]
    x1, y1, x2, y2 = (int(round(v)) for v in bbox)
    x1, y1 = max(0, min(x1, w - 1)), max(0, min(y1, h - 1))
    x2, y2 = max(x1 + 1, min(x2, w)), max(y1 + 1, min(y2, h))
    patch = image[y1:y2, x1:x2]
    width = max(8, int(round(patch.shape[1] * height / patch.shape[0])))
    return cv2.resize(patch, (width, height))


def _framed(tile: np.ndarray, colour: RGB, caption: str) -> np.ndarray:
    """A 6-pixel frame around the tile and a caption band under it."""
    tile = cv2.copyMakeBorder(
        tile, 6, 6, 6, 6, cv2.BORDER_CONSTANT, value=colour)
    (text_width, _), _ = cv2.getTextSize(caption, _FONT, 0.5, 1)
    if text_width + 8 > tile.shape[1]:
        # A narrow person: widen the tile with white so the caption fits.
        tile = cv2.copyMakeBorder(
            tile, 0, 0, 0, text_width + 8 - tile.shape[1],
            cv2.BORDER_CONSTANT, value=(255, 255, 255))
    band = np.full((28, tile.shape[1], 3), 255, np.uint8)
    cv2.putText(band, caption, (4, 20), _FONT, 0.5, PALETTE.ink, 1,
                cv2.LINE_AA)
    return np.vstack([tile, band])


def _tagged_boxes(image: ImageLike, bboxes: np.ndarray,
                  colours: Sequence[RGB], tags: Sequence[str],
                  widths: Sequence[int], method: str,
                  values: str) -> np.ndarray:
    """A copy of the frame with each box drawn in its colour, ``widths``
    times the frame's line width, and tagged above its top-left corner."""
    bboxes = np.asarray(bboxes, dtype=np.float64).reshape(-1, 4)
    if len(tags) != len(bboxes):
        raise ValueError(
            f'{method}: {len(bboxes)} boxes but {len(tags)} {values}')
    img = _read(image).copy()
    thick = _line_width(img)
    for bbox, colour, tag, width in zip(bboxes, colours, tags, widths):
        _rectangle(img, bbox, colour, thick * width)
        _draw_tag(img, tag, bbox[:2], colour)
    return img


def _line_width(img: np.ndarray) -> int:
    """Box line width that stays visible on large frames."""
    return max(1, round(min(img.shape[:2]) / 300))


def _rectangle(img: np.ndarray, bbox: Sequence[float], colour: RGB,
               thick: int) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in bbox)
    cv2.rectangle(img, (x1, y1), (x2, y2), colour, thick)


def _draw_tag(img: np.ndarray, text: str, corner: Tuple[float, float],
              colour: RGB) -> None:
    """Write ``text`` on a filled label above the corner (inside the image
    when there is no room above), in black or white ink, whichever shows."""
    x1, y1 = int(corner[0]), int(corner[1])
    scale = max(0.35, min(img.shape[:2]) / 900)
    (w, h), base = cv2.getTextSize(text, _FONT, scale, 1)
    top = y1 - h - base - 2 if y1 - h - base - 2 >= 0 else y1
    cv2.rectangle(img, (x1, top), (x1 + w + 4, top + h + base + 2), colour,
                  -1)
    ink = PALETTE.ink if sum(colour) > 380 else (255, 255, 255)
    cv2.putText(img, text, (x1 + 2, top + h + 1), _FONT, scale, ink, 1,
                cv2.LINE_AA)
