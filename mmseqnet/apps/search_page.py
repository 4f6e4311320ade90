"""A browser page for person search, built with gradio on
:class:`~mmseqnet.apis.PersonSearcher`.

Typical use (``pip install mmseqnet[web]``)::

    searcher = PersonSearcher.from_config('configs/seqnet_prw.py', 'model.pth')
    gallery = Gallery.load('frames.gallery.npz')
    build_search_page(searcher, gallery).launch(server_name='127.0.0.1')

``tools/search_page.py`` does this from the command line.
"""
import functools
import os.path as osp
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

import mmcv
import numpy as np

from mmseqnet.apis import (FRAME_SEPARATOR, Gallery, GalleryIndex,
                           PersonSearcher, SearchMatch, draw_search_result,
                           read_source)
from mmseqnet.visualization import PersonSearchVisualizer

# The camera in a PRW frame name (c<camera>s<sequence>_<frame>) and in the
# crop names of Market-1501 (<pid>_c<camera>s<sequence>_...) and DukeMTMC
# (<pid>_c<camera>_f<frame>).
_CAMERA_IN_NAME = re.compile(r'(?:^|_)c(\d+)(?=s\d+_|_)')
# Handlers the page's own widgets call; only the search is an API endpoint.
_PRIVATE = dict(api_visibility='private')
# Handlers that read gallery sources and run the model go one at a time:
# they share the CPU's cores, so several at once would each be slower.
_ONE_AT_A_TIME = dict(concurrency_limit=1, concurrency_id='reads_sources')


def source_camera_and_time(source: str) -> Tuple[str, str]:
    """Where and when a gallery source was taken, as far as its name tells.

    Args:
        source (str): A gallery source: an image path or
            ``'<video path>#frame=<index>'``.

    Returns:
        tuple[str, str]: The camera: ``c<n>`` from a PRW, Market-1501 or
        DukeMTMC style image name, the video's file name without extension
        for a video frame, '-' when the name does not tell (CUHK-SYSU). The
        time: ``'<seconds> s (frame <index>)'`` for a video frame
        (index / the video's frame rate), else the image's file name.
    """
    if FRAME_SEPARATOR in source:
        path, index = source.rsplit(FRAME_SEPARATOR, 1)
        seconds = int(index) / _video_fps(path)
        return (osp.splitext(osp.basename(path))[0],
                f'{seconds:.2f} s (frame {index})')
    name = osp.basename(source)
    camera = _CAMERA_IN_NAME.search(osp.splitext(name)[0])
    return (f'c{camera.group(1)}' if camera else '-'), name


@functools.lru_cache(maxsize=64)
def _video_fps(path: str) -> float:
    fps = mmcv.VideoReader(path).fps
    if not fps > 0:
        raise ValueError(f'{path} does not state its frame rate.')
    return fps


def match_record(match: SearchMatch) -> Dict[str, Any]:
    """A match as the page's API returns it (JSON types only).

    Args:
        match (SearchMatch): A ranked match.

    Returns:
        dict: ``rank``, ``source``, ``bbox`` (xyxy), ``score``,
        ``similarity``, ``camera`` and ``time`` (see
        :func:`source_camera_and_time`).
    """
    camera, time = source_camera_and_time(match.source)
    return dict(
        rank=match.rank,
        source=match.source,
        bbox=[float(v) for v in match.bbox],
        score=match.score,
        similarity=match.similarity,
        camera=camera,
        time=time)


def build_search_page(searcher: PersonSearcher,
                      gallery: Gallery,
                      index: Optional[GalleryIndex] = None,
                      max_listed_sources: int = 1000,
                      title: str = 'mmseqnet person search') -> Any:
    """A gradio page that searches a gallery for a person.

    The query is a gallery image picked from a list (or typed: any source
    of the gallery) or an uploaded picture; its box is typed (x1 y1 x2 y2,
    pixels) or set by clicking two opposite corners on the picture. CBGM,
    GFN (shown only for a gallery with scene embeddings) and the number of
    matches are chosen beside it. The result: the matches' crops captioned
    with rank, similarity, camera and time; the picture of
    :func:`~mmseqnet.apis.draw_search_result`; the matches as JSON.

    The search is the HTTP endpoint ``/search`` (gradio's client), with
    inputs ``source`` (a gallery source, or None), ``image`` (an image
    file, used when ``source`` is None), ``x1``, ``y1``, ``x2``, ``y2``,
    ``use_cbgm``, ``use_gfn``, ``topk``; it returns the crops, the picture
    and the list of :func:`match_record` dicts. The widgets have element
    ids for styling and browser automation: ``query-source``,
    ``query-image``, ``query-box``, ``search-button``, ``matches``,
    ``search-picture``.

    Args:
        searcher (PersonSearcher): The model; the search is its
            :meth:`~PersonSearcher.embed_query` then
            :meth:`~PersonSearcher.rank`.
        gallery (Gallery): The indexed gallery (or an object with the same
            attributes, as :meth:`PersonSearcher.rank` takes).
        index (GalleryIndex, optional): A nearest-neighbour index of the
            gallery: :meth:`PersonSearcher.rank` ranks its candidates.
            Defaults to None (every detection is ranked).
        max_listed_sources (int): Gallery sources listed for picking; the
            others can be typed. Defaults to 1000.
        title (str): The page's title. Defaults to
            'mmseqnet person search'.

    Returns:
        gradio.Blocks: The page; ``launch()`` serves it.
    """
    gr = _import_gradio()
    handlers = _SearchHandlers(searcher, gallery, index, gr.Error)
    sources = list(gallery.sources[:max_listed_sources])
    has_gfn = gallery.scene_embeddings is not None
    max_topk = max(1, min(100, len(gallery)))
    with gr.Blocks(title=title, analytics_enabled=False) as page:
        gr.Markdown(f'## {title}\n{handlers.summary()}')
        with gr.Row():
            with gr.Column():
                source = gr.Dropdown(
                    sources,
                    value=None,
                    label='Gallery image',
                    info=f'{len(sources)} of {len(gallery.sources)} listed; '
                    'type to filter, or type another source of the '
                    'gallery',
                    allow_custom_value=len(sources) < len(gallery.sources),
                    elem_id='query-source')
                with gr.Row(equal_height=True):
                    image = gr.Image(
                        type='filepath',
                        image_mode=None,
                        format='png',
                        sources=['upload', 'clipboard'],
                        label='Query: click two corners of the person',
                        height=300,
                        scale=3,
                        elem_id='query-image')
                    preview = gr.Image(
                        label='Query box',
                        interactive=False,
                        format='png',
                        height=300,
                        scale=2,
                        elem_id='query-box')
                with gr.Row():
                    box = [
                        gr.Number(label=name, precision=1, min_width=60)
                        for name in ('x1', 'y1', 'x2', 'y2')
                    ]
                next_corner = gr.State(0)
                with gr.Row(equal_height=True):
                    use_cbgm = gr.Checkbox(
                        label='CBGM',
                        info='context bipartite graph matching',
                        min_width=100)
                    use_gfn = gr.Checkbox(
                        label='GFN',
                        info='weight images by the gallery filter',
                        visible=has_gfn,
                        min_width=100)
                    topk = gr.Slider(
                        1,
                        max_topk,
                        value=min(10, max_topk),
                        step=1,
                        label='Matches (top-k)',
                        scale=2)
                button = gr.Button(
                    'Search', variant='primary', elem_id='search-button')
            with gr.Column():
                crops = gr.Gallery(
                    label='Matches',
                    columns=4,
                    height=610,
                    object_fit='contain',
                    format='png',
                    elem_id='matches')
        # Full width: one row of tiles, as wide as there are matches.
        picture = gr.Image(
            label='Query and matches',
            interactive=False,
            format='png',
            elem_id='search-picture')
        with gr.Accordion('Matches as JSON', open=False):
            records = gr.JSON(label='Matches')

        source.input(
            handlers.pick_source,
            source, [image, *box, next_corner],
            **_PRIVATE,
            **_ONE_AT_A_TIME)
        image.upload(
            handlers.new_upload, None, [source, *box, next_corner],
            **_PRIVATE)
        image.clear(lambda: None, None, source, **_PRIVATE)

        def click_corner(corner, x1, y1, x2, y2, event: gr.SelectData):
            return handlers.click_corner(corner, x1, y1, x2, y2, event.index)

        image.select(
            click_corner, [next_corner, *box], [*box, next_corner],
            **_PRIVATE)
        gr.on([field.change for field in box] + [image.change],
              handlers.preview, [source, image, *box],
              preview,
              show_progress='hidden',
              **_PRIVATE,
              **_ONE_AT_A_TIME)
        button.click(
            handlers.search,
            [source, image, *box, use_cbgm, use_gfn, topk],
            [crops, picture, records],
            api_name='search',
            **_ONE_AT_A_TIME)
    return page


def _import_gradio():
    """gradio, or an ImportError saying how to install it."""
    try:
        import gradio
    except ImportError as err:
        raise ImportError(
            'The search page needs gradio: pip install mmseqnet[web] '
            f'(importing gradio failed: {err})') from err
    return gradio


class _SearchHandlers:
    """What the page's widgets do, on one searcher and gallery.

    Args:
        searcher (PersonSearcher): See :func:`build_search_page`.
        gallery (Gallery): See :func:`build_search_page`.
        index (GalleryIndex, optional): See :func:`build_search_page`.
        error (type): gradio's ``Error``: its message is shown on the page
            and returned to the API's caller.
    """

    def __init__(self, searcher: PersonSearcher, gallery: Gallery,
                 index: Optional[GalleryIndex], error: type) -> None:
        self.searcher = searcher
        self.gallery = gallery
        self.index = index
        self.error = error
        self.known_sources = set(gallery.sources)
        self.visualizer = PersonSearchVisualizer(
            name=f'search_page_{id(self)}')

    def summary(self) -> str:
        """One line on the gallery, for the page's header."""
        gallery = self.gallery
        parts = [
            f'{len(gallery.sources)} images', f'{len(gallery)} detections',
            f'{gallery.embeddings.shape[1]}-d embeddings'
        ]
        if gallery.scene_embeddings is not None:
            parts.append('GFN scene embeddings')
        if self.index is not None:
            parts.append(f'faiss index {self.index.kind}')
        return 'Gallery: ' + ', '.join(parts) + '.'

    def query_image(self, source: Optional[str],
                    image: Optional[str]) -> str:
        """The query: the picked gallery source, else the uploaded file."""
        if source:
            if source not in self.known_sources:
                raise self.error(
                    f'{source!r} is not an image of this gallery.')
            return source
        if image:
            return image
        raise self.error('Pick a gallery image or upload a query image.')

    def pick_source(self, source: Optional[str]) -> tuple:
        """Show a picked gallery image; its box is to be set anew."""
        shown = mmcv.bgr2rgb(read_source(
            self.query_image(source, None))) if source else None
        return shown, None, None, None, None, 0

    def new_upload(self) -> tuple:
        """An uploaded picture replaces the picked source and its box."""
        return None, None, None, None, None, 0

    def click_corner(self, corner: int, x1: Optional[float],
                     y1: Optional[float], x2: Optional[float],
                     y2: Optional[float], point: Sequence[float]) -> tuple:
        """A click sets the first corner of the box, the next one the
        opposite corner (in either order).

        Args:
            corner (int): 0 for the first corner, 1 for the second.
            x1, y1, x2, y2 (float, optional): The box fields.
            point (Sequence[float]): The click, (x, y) in image pixels.

        Returns:
            tuple: The box fields and the next corner.
        """
        x, y = (float(v) for v in point)
        if corner == 0 or x1 is None or y1 is None:
            return x, y, None, None, 1
        return min(x1, x), min(y1, y), max(x1, x), max(y1, y), 0

    def preview(self, source: Optional[str], image: Optional[str],
                *bbox: Optional[float]) -> Optional[np.ndarray]:
        """The query image with its box, when both are there."""
        if not (source or image):
            return None
        picture = mmcv.bgr2rgb(read_source(self.query_image(source, image)))
        if any(v is None for v in bbox) or not (bbox[0] < bbox[2]
                                                and bbox[1] < bbox[3]):
            return picture
        return self.visualizer.draw_gallery_frame(
            picture, np.zeros((0, 4)), [], query_bbox=bbox)

    def search(self, source: Optional[str], image: Optional[str],
               x1: Optional[float], y1: Optional[float], x2: Optional[float],
               y2: Optional[float], use_cbgm: bool, use_gfn: bool,
               topk: float) -> Tuple[List[tuple], np.ndarray, List[dict]]:
        """Search the gallery for the person in the query box.

        Returns:
            tuple: The matches' RGB crops with captions, the picture of the
            query beside its matches (RGB) and the matches'
            :func:`match_record` dicts, best first.
        """
        query_image = self.query_image(source, image)
        bbox = [x1, y1, x2, y2]
        if any(v is None for v in bbox):
            raise self.error('Type the query box (x1 y1 x2 y2) or click two '
                             'opposite corners of the person.')
        try:
            query, context, gfn_filter = self.searcher.embed_query(
                query_image, bbox, return_gfn_filter=True)
            if use_gfn and gfn_filter is None:
                raise ValueError('GFN needs a model with a Gallery Filter '
                                 'Network (roi_head.gfn_head).')
            matches = self.searcher.rank(
                self.gallery,
                query,
                context,
                int(topk),
                use_cbgm=use_cbgm,
                gfn_filter=gfn_filter if use_gfn else None,
                index=self.index).matches
        except (ValueError, FileNotFoundError) as err:
            raise self.error(str(err)) from err
        records = [match_record(match) for match in matches]
        crops = [(self._crop(match),
                  f'#{r["rank"]} {r["similarity"]:.3f} · {r["camera"]} · '
                  f'{r["time"]}')
                 for match, r in zip(matches, records)]
        picture = draw_search_result(
            query_image, bbox, matches, visualizer=self.visualizer)
        return crops, picture, records

    def _crop(self, match: SearchMatch) -> np.ndarray:
        """The match's detection, RGB."""
        image = read_source(match.source)
        return mmcv.bgr2rgb(mmcv.imcrop(image, np.asarray(match.bbox)))
