"""Review-gated go-live (`activation: after_review`): hold a campaign paused until its ads pass review.

Two halves, one job:
  hold.py    (plan side, pure) the desired status of a gated campaign's objects: paused until live;
  enable.py  (apply side) after the executor's walk, read the reviews and enable what passed.
"""

from reconciler.golive.hold import GATED_TYPES, Gate, Member, hold_for_review, waiting_members

__all__ = ["GATED_TYPES", "Gate", "Member", "hold_for_review", "waiting_members"]
