# GFN's objective ablation, 'separate' mode: the gallery filter scores a
# gallery image by the query embedding against its scene embedding,
# sigmoid(cos(q, s_G)), without the query-scene fuser; its NT-Xent takes
# each scene as anchor, the batch's persons as references. Compare with
# ../seqnext_gfn_prw.py ('combined'), which differs only in that. (GFN ran
# its objective ablation with its 512-px crop recipe instead of the final
# one.)
_base_ = '../seqnext_gfn_prw.py'

model = dict(roi_head=dict(gfn_head=dict(mode='separate')))
