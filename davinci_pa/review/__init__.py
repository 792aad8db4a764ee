"""Utilization review (CMS-0057-F; docs/review.md).

Reviewer accounts and roles, the queue, decisions by role, extensions, appeals and the
deadline sweep.
"""
