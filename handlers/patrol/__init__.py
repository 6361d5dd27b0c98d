"""Patrol duty (巡逻值守): /patrol for members, the patrol section of /admin for
coordinators, and the views of both (texts, cards, notices, the week's roster)."""
