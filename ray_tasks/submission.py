"""Submitting the state task through Ray's core worker, without ``RemoteFunction._remote``'s set-up.

``_remote`` works out the same things for every call: it fills ~40 task options with their
defaults, derives the resources and the scheduling strategy from them, checks the export, the
tracing and the placement-group context, binds the argument list against the function's signature,
and only then calls ``core_worker.submit_task``. For a fan-out of 200 that set-up is ~12 ms of the
driver's CPU (half of what submitting costs), taken from the workers on a small machine.

:class:`DirectSubmitter` works those values out once, the way ``_remote`` does, and passes them
straight to ``submit_task``. It does so only where the result is the task ``_remote`` would submit:
the Ray version it was written against (``submit_task``'s arguments are internal), a driver process
connected to a cluster it has already exported the function to (the first submission on each
connection goes through ``_remote``), no tracing, no task launch hook, no client mode, the default
placement. Anything else goes through ``_remote`` as before.
"""

from __future__ import annotations

import ray
import ray._private.worker as ray_worker
import ray.remote_function as ray_remote_function
from ray._common import ray_option_utils
from ray._common.signature import DUMMY_TYPE
from ray._common.utils import resources_from_ray_options
from ray._private.client_mode_hook import client_mode_should_convert
from ray.util.tracing import tracing_helper

SUBMIT_TASK_RAY_VERSION = "2.60.0"  # the version whose core_worker.submit_task arguments this passes


class DirectSubmitter:
    """Submits ``remote_function(arg)`` with fixed ``options`` (and a name per call); see the module."""

    def __init__(self, remote_function, options: dict):
        self._function = remote_function
        self._options = dict(options)
        filled = {k: self._options.get(k, o.default_value) for k, o in ray_option_utils.task_options.items()}
        self._resources = resources_from_ray_options(filled)
        self._max_retries = int(filled["max_retries"])
        self._retry_exceptions = filled["retry_exceptions"]
        self._task_events = filled.get("enable_task_events")
        self._labels = filled.get("_labels")
        self._label_selector = filled.get("label_selector")
        self._fallback_strategy = filled.get("fallback_strategy")
        self._simple = (
            filled["num_returns"] in (None, 1)
            and filled["scheduling_strategy"] is None
            and filled["placement_group"] in (None, "default")
            and filled["_generator_backpressure_num_objects"] is None
            and filled["_num_objects_per_yield"] in (None, 1)
            and not isinstance(self._retry_exceptions, (list, tuple))
            and not filled.get("runtime_env")
        )
        self.direct = 0  # submissions that went straight to the core worker (for tests and benchmarks)

    def _direct_ok(self, worker) -> bool:
        rf = self._function
        return (
            self._simple
            and ray.__version__ == SUBMIT_TASK_RAY_VERSION
            and worker.connected
            and worker.mode == ray_worker.SCRIPT_MODE
            and not worker.should_capture_child_tasks_in_placement_group
            and rf._function_signature is not None
            and rf._decorator is None
            and not rf._is_cross_language
            and not rf._is_generator
            and ray_remote_function._task_launch_hook is None
            and not tracing_helper._is_tracing_enabled()
            and not client_mode_should_convert()
            and rf._last_export_cluster_and_job == worker.current_cluster_and_job
        )

    def submit(self, arg, name: str):
        """One task running ``remote_function(arg)``, named ``name``; returns its ObjectRef."""
        worker = ray_worker.global_worker
        if not self._direct_ok(worker):
            return self._function._remote(args=[arg], kwargs={}, **self._options, name=name)
        refs = worker.core_worker.submit_task(  # type: ignore[attr-defined]  # set by ray.init
            self._function._language,
            self._function._function_descriptor,
            [DUMMY_TYPE, arg],  # what signature.flatten_args makes of one positional argument
            name,
            1,  # num_returns
            self._resources,
            self._max_retries,
            self._retry_exceptions,
            None,  # retry_exception_allowlist
            "DEFAULT",  # scheduling strategy: no placement group
            worker.debugger_breakpoint,
            "{}",  # serialized_runtime_env_info: the job's own
            -1,  # generator_backpressure_num_objects
            1,  # num_objects_per_yield
            self._task_events,
            self._labels,
            self._label_selector,
            self._fallback_strategy,
        )
        worker.debugger_breakpoint = b""
        self.direct += 1
        return refs[0]
