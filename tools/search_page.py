"""Serve a browser page that searches an indexed gallery for a person.

Example::

    python tools/search_page.py configs/seqnet_prw.py model.pth \\
        --gallery frames.gallery.npz --port 7860

then open http://127.0.0.1:7860. The gallery is a file written by
``tools/search.py --gallery-cache`` or a gallery directory of
``tools/index_gallery.py``; ``--index`` adds its nearest-neighbour index.
The page needs the ``web`` extra (``pip install mmseqnet[web]``); it sends
no telemetry and makes no share link.
"""
import argparse

from mmseqnet.apis import Gallery, PersonSearcher
from mmseqnet.apps import build_search_page


def parse_args():
    parser = argparse.ArgumentParser(description='Person search page')
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model checkpoint file')
    parser.add_argument(
        '--gallery',
        required=True,
        help='indexed gallery: an .npz file or a gallery directory')
    parser.add_argument(
        '--index', help='nearest-neighbour index of the gallery (faiss)')
    parser.add_argument(
        '--host',
        default='127.0.0.1',
        help='address to serve on (0.0.0.0 serves every interface)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--device', default='cpu')
    return parser.parse_args()


def main():
    args = parse_args()
    gallery = Gallery.load(args.gallery)
    index = None
    if args.index:
        from mmseqnet.apis import GalleryIndex  # needs the search extra
        index = GalleryIndex.load(args.index, gallery_size=len(gallery))
    searcher = PersonSearcher.from_config(
        args.config, args.checkpoint, device=args.device)
    page = build_search_page(searcher, gallery, index=index)
    page.launch(server_name=args.host, server_port=args.port, share=False)


if __name__ == '__main__':
    main()
