"""Suggestions (社区智囊团): leaving one (`leave`), the coordinators' screens (`admin`), their
buttons and views."""
