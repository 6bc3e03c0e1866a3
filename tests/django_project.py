"""Django is set up once per process, with the example project's settings (examples/django)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import django

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "django"

if str(EXAMPLE) not in sys.path:
    sys.path.insert(0, str(EXAMPLE))
os.environ["DJANGO_SETTINGS_MODULE"] = "mysite.settings"
django.setup()
