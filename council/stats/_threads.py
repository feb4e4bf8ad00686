"""BLAS thread control for the statistics core.

The matrices here are small (≤ 1,000 × 10,000); multi-threaded BLAS only adds synchronisation, and
on a loaded 2-core machine it made the agreement report 2× and the calibration CV 3× slower
(measured). Limits apply inside the context only and are restored on exit.
"""

from __future__ import annotations

from threadpoolctl import threadpool_limits


def single_threaded_blas() -> threadpool_limits:
    """Context manager limiting BLAS to one thread (restores the previous limits on exit)."""
    return threadpool_limits(limits=1, user_api="blas")
