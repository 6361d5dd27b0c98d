"""Patrol duty (巡逻值守): posts, shifts on the slot engine, taking, leaving and swapping a
shift, reminders, check-in and out, the passbook credit, the week's roster."""
