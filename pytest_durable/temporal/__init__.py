"""Run Temporal SDK workflows unmodified on the in-process engine (the ``temporal`` extra).

``DurableEnvironment`` takes ``@temporalio.workflow.defn`` workflows and
``@temporalio.activity.defn`` activities directly; this package is what it loads to do so. The
first Temporal object an environment meets loads the front-end, which checks that a supported
temporalio is installed (``pip install 'pytest-durable[temporal]'``) and raises ``ImportError``
saying what to install otherwise. Importing this package alone needs no temporalio.
"""

from __future__ import annotations

from ._errors import UnsupportedTemporalFeatureError
from ._require import SUPPORTED_RANGE

__all__ = ["SUPPORTED_RANGE", "UnsupportedTemporalFeatureError"]
