"""The two engines that can run an order's saga, behind one interface.

`checkout_engine` picks Step Functions (the state machine in terraform/workflows) or the Lambda
durable function (`shop.durable_saga`). Whatever runs the saga, its callers need the same five
things of it: start an order's execution, read its status and its history, list its executions,
and send the approver's decision back. `Engine` names them; `StepFunctions` and `Durable` are the
two implementations. The checkout handler, the demo and the saga's analysis all go through here,
so each engine's API is read in one place, and every paged read goes through botocore's paginator.

Clients are passed as zero-argument callables and made on first use: the checkout function's
cold start should not load the service model of the engine it does not run.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ENGINE_NAMES = ("step-functions", "durable")  # Terraform's checkout_engine values
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "STOPPED"})
REJECTED = "ApprovalRejected"  # the error both engines record for an approver's rejection


@dataclass(frozen=True)
class Progress:
    """Where an execution is: its status, and the states (or steps) it entered, in order."""

    status: str | None  # None: no execution (yet)
    entered: list[str]


def _every(client: Any, operation: str, items: str, **parameters: Any) -> list[Any]:
    """All the items of a paged call, through botocore's paginator for it."""
    return [item for page in client.get_paginator(operation).paginate(**parameters) for item in page[items]]


class Engine(Protocol):
    name: str
    client: Callable[[], Any]

    def start(self, order_id: str, requires_approval: bool) -> str:
        """Starts the order's saga, named after the order, and returns the execution's ARN. A
        second start for the same order answers with the first execution, never a second one."""
        ...

    def status(self, execution_arn: str) -> str: ...

    def history(self, execution_arn: str, with_data: bool = False) -> list[dict[str, Any]]:
        """Every event of the execution's history, oldest first, as the engine's API returns them."""
        ...

    def entered(self, events: list[dict[str, Any]]) -> list[str]:
        """The states (or top-level steps) a history entered, each once, in order."""
        ...

    def execution_names(self) -> list[str]:
        """The names of the engine's executions (on both, an order's id names its execution)."""
        ...

    def executions_since(self, started_after: datetime) -> list[str]:
        """The ARNs of the executions that started after a time, oldest first."""
        ...

    def approve(self, token: str) -> None: ...

    def reject(self, token: str, reason: str) -> None: ...


@dataclass
class StepFunctions:
    """The checkout state machine. The approval token is the waitForTaskToken task's token."""

    client: Callable[[], Any]
    state_machine_arn: str
    name: str = "step-functions"

    def start(self, order_id: str, requires_approval: bool) -> str:
        states = self.client()
        try:
            return str(
                states.start_execution(
                    stateMachineArn=self.state_machine_arn,
                    name=order_id,
                    input=json.dumps({"order_id": order_id, "requires_approval": requires_approval}),
                )["executionArn"]
            )
        except states.exceptions.ExecutionAlreadyExists:
            # A previous attempt started it and then lost its reply (or timed out before recording it).
            prefix, machine = self.state_machine_arn.rsplit(":stateMachine:", 1)
            return f"{prefix}:execution:{machine}:{order_id}"

    def status(self, execution_arn: str) -> str:
        return str(self.client().describe_execution(executionArn=execution_arn)["status"])

    def history(self, execution_arn: str, with_data: bool = False) -> list[dict[str, Any]]:
        return _every(
            self.client(),
            "get_execution_history",
            "events",
            executionArn=execution_arn,
            includeExecutionData=with_data,
            PaginationConfig={"PageSize": 1000},  # GetExecutionHistory's largest maxResults
        )

    def entered(self, events: list[dict[str, Any]]) -> list[str]:
        return [
            event["stateEnteredEventDetails"]["name"]
            for event in events
            if "stateEnteredEventDetails" in event
        ]

    def execution_names(self) -> list[str]:
        executions = _every(
            self.client(), "list_executions", "executions", stateMachineArn=self.state_machine_arn
        )
        return [execution["name"] for execution in executions]

    def executions_since(self, started_after: datetime) -> list[str]:
        # ListExecutions has no time filter; it lists the newest first.
        executions = _every(
            self.client(), "list_executions", "executions", stateMachineArn=self.state_machine_arn
        )
        recent = [execution for execution in executions if execution["startDate"] > started_after]
        return [execution["executionArn"] for execution in sorted(recent, key=lambda e: e["startDate"])]

    def approve(self, token: str) -> None:
        self.client().send_task_success(taskToken=token, output=json.dumps({"approved": True}))

    def reject(self, token: str, reason: str) -> None:
        self.client().send_task_failure(taskToken=token, error=REJECTED, cause=reason)


@dataclass
class Durable:
    """The checkout-durable function. The approval token is the wait_for_callback's callback id."""

    client: Callable[[], Any]
    function_name: str
    name: str = "durable"

    def start(self, order_id: str, requires_approval: bool) -> str:
        # Asynchronous, named after the order: Lambda answers a second start of that name with the
        # same payload with the first execution.
        response = self.client().invoke(
            FunctionName=self.function_name,
            InvocationType="Event",
            DurableExecutionName=order_id,
            Payload=json.dumps({"order_id": order_id, "requires_approval": requires_approval}).encode(),
        )
        return str(response["DurableExecutionArn"])

    def status(self, execution_arn: str) -> str:
        return str(self.client().get_durable_execution(DurableExecutionArn=execution_arn)["Status"])

    def history(self, execution_arn: str, with_data: bool = False) -> list[dict[str, Any]]:
        return _every(
            self.client(),
            "get_durable_execution_history",
            "Events",
            DurableExecutionArn=execution_arn,
            IncludeExecutionData=with_data,
        )

    def entered(self, events: list[dict[str, Any]]) -> list[str]:
        # A retried step starts once per attempt; like Step Functions' entered states, it is listed
        # once. Operations inside another (wait_for_callback's callback and submitter) belong to
        # their parent, as a state's task belongs to its state.
        started: list[str] = []
        for event in events:
            name = event.get("Name")
            if (
                event["EventType"] in ("StepStarted", "ContextStarted")
                and "ParentId" not in event
                and name
                and name not in started
            ):
                started.append(name)
        return started

    def execution_names(self) -> list[str]:
        executions = _every(
            self.client(),
            "list_durable_executions_by_function",
            "DurableExecutions",
            FunctionName=self.function_name,
        )
        return [execution["DurableExecutionName"] for execution in executions]

    def executions_since(self, started_after: datetime) -> list[str]:
        # Filtered here rather than with StartedAfter: the SDK's local runner, which the twin runs,
        # reads StartedAfter as epoch seconds while boto3 sends ISO 8601 (Lambda's wire format),
        # and then lists nothing; filtering here reads the same on both.
        executions = _every(
            self.client(),
            "list_durable_executions_by_function",
            "DurableExecutions",
            FunctionName=self.function_name,
        )
        return [
            execution["DurableExecutionArn"]
            for execution in sorted(executions, key=lambda e: e["StartTimestamp"])
            if execution["StartTimestamp"] > started_after
        ]

    def approve(self, token: str) -> None:
        self.client().send_durable_execution_callback_success(
            CallbackId=token, Result=json.dumps({"approved": True}).encode()
        )

    def reject(self, token: str, reason: str) -> None:
        self.client().send_durable_execution_callback_failure(
            CallbackId=token, Error={"ErrorType": REJECTED, "ErrorMessage": reason}
        )


def progress(engine: Engine, execution_arn: str) -> Progress:
    """The execution's status and the states it entered, from the engine's own history."""
    execution_status = engine.status(execution_arn)
    return Progress(execution_status, engine.entered(engine.history(execution_arn)))


@dataclass(frozen=True)
class Engines:
    """The engines a function may talk to, and the one that runs new orders' sagas.

    From the function's environment (terraform/functions.tf): CHECKOUT_ENGINE (Terraform's
    checkout_engine), ORDERS_STATE_MACHINE_ARN and, where the durable function exists,
    CHECKOUT_DURABLE_FUNCTION. Checkout and the order relay read it alike, so both start an order's
    saga on the same engine with the same name and input."""

    new_orders: str
    by_name: dict[str, Engine]

    def for_order(self, name: str | None) -> Engine:
        """The engine that runs an order's saga (orders placed before there was a choice ran on
        Step Functions)."""
        return self.by_name[name or "step-functions"]

    @property
    def for_new_orders(self) -> Engine:
        return self.by_name[self.new_orders]

    def make_client_for_new_orders(self) -> None:
        """At init: SnapStart's snapshot and every warm start then hold the client new orders use."""
        self.for_new_orders.client()


def from_environment(client: Callable[[str], Any], environ: Mapping[str, str]) -> Engines:
    """`client(service)` makes a client; each engine makes its own on first use, so a cold start
    loads only the service model of the engine it calls."""
    new_orders = environ.get("CHECKOUT_ENGINE", "step-functions")
    if new_orders not in ENGINE_NAMES:
        raise ValueError(f"CHECKOUT_ENGINE must be one of {ENGINE_NAMES}, not {new_orders!r}")
    states = functools.cache(lambda: client("stepfunctions"))
    lambda_ = functools.cache(lambda: client("lambda"))
    return Engines(
        new_orders,
        {
            "step-functions": StepFunctions(states, environ["ORDERS_STATE_MACHINE_ARN"]),
            "durable": Durable(lambda_, environ.get("CHECKOUT_DURABLE_FUNCTION", "")),
        },
    )
