"""Developer aid: print .po entries for messages that lack a zh translation.

.venv/bin/python -m tests.unit.list_untranslated >> bot/locales/zh/<feature>.po
"""

from __future__ import annotations

import json

from bot.i18n import catalogue
from tests.unit.test_catalogues import source_messages

if __name__ == "__main__":
    zh = catalogue("zh")
    for message, where in sorted(source_messages().items(), key=lambda kv: kv[1]):
        if message not in zh:
            print(f'#: {where}\nmsgid {json.dumps(message, ensure_ascii=False)}\nmsgstr ""\n')
