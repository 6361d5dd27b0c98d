"""Study sessions (学习) in chat: the views of the notices the study service records; /study
and /attend for everyone in a session's audience (`sessions`: answer, material, check in);
for coordinators the 📚 学习 section of /admin (`admin`: schedule, the card with the check-in
code and the attendance, cancel)."""
