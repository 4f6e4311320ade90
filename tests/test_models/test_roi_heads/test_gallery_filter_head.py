import torch

from mmseqnet.models.roi_heads import GalleryFilterHead


def test_pairs_by_hand():
    """Image 0 holds id 5 and an unlabeled person; image 1 ids 5 and 7."""
    image_inds = torch.tensor([0, 0, 1, 1])
    person_ids = torch.tensor([5, -1, 5, 7])
    known = [{5}, {5, 7}]
    head = GalleryFilterHead.__new__(GalleryFilterHead)
    head.filter_negatives = True
    pos, neg = GalleryFilterHead._pairs(head, image_inds, person_ids, known)
    assert pos.tolist() == [[True, True], [True, False], [True, True],
                            [False, True]]
    # The unlabeled person's image 1 shares id 5 with its image: not a
    # negative; id 7 is not in image 0: a negative.
    assert neg.tolist() == [[False, False], [False, False], [False, False],
                            [True, False]]
    head.filter_negatives = False
    _, neg = GalleryFilterHead._pairs(head, image_inds, person_ids, known)
    assert neg.tolist() == [[False, False], [False, True], [False, False],
                            [True, False]]
