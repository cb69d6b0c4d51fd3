"""SageMaker monitoring schedules, which moto lacks altogether (data- and model-quality monitoring).

A test named with no file is in tests/integration/test_emulator_patches.py.

- ``add_monitoring_schedules``: no ``Create/Describe/Update/Delete/ListMonitoringSchedules`` (HTTP 500).
  test_monitoring_schedules_on_plain_moto

:func:`monitoring_schedules` is where a backend keeps them; :mod:`.sagemaker`'s tag fix looks them up there.
"""

from __future__ import annotations

from typing import Any

from mlplatform.emulator.patches.support import add_operations


def monitoring_schedules(backend: Any) -> dict[str, Any]:
    """The backend's monitoring schedules by name (created on first use: moto's backend has no such field)."""
    schedules: dict[str, Any] = backend.__dict__.setdefault("monitoring_schedules", {})
    return schedules


_MONITORING_DEFINITIONS = {
    # MonitoringType -> the backend's job definitions of that type
    "DataQuality": "data_quality_job_definitions",
    "ModelQuality": "model_quality_job_definitions",
    "ModelBias": "model_bias_job_definitions",
    "ModelExplainability": "model_explainability_job_definitions",
}


def add_monitoring_schedules() -> None:
    """SageMaker ``Create/Describe/Update/Delete/ListMonitoringSchedules`` (moto 5.2.5 has none: HTTP 500).

    moto implements the monitoring job definitions but not the schedules that run them, so data- and
    model-quality monitoring cannot be deployed at all. Schedules are stored per backend with AWS's request
    and response shapes; a schedule naming a job definition checks that it exists (AWS answers
    ``ValidationException`` otherwise) and takes its endpoint from the definition's input. No monitoring
    job ever runs: the status is ``Scheduled``, as on AWS before the first execution.
    """
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.utils import utcnow
    from moto.sagemaker.exceptions import ResourceInUseException, ResourceNotFound, ValidationError
    from moto.sagemaker.models import SageMakerModelBackend
    from moto.sagemaker.responses import SageMakerResponse
    from moto.sagemaker.utils import arn_formatter

    class MonitoringSchedule:
        def __init__(self, backend: Any, name: str, config: dict[str, Any], tags: list[dict[str, str]]) -> None:
            self.name = name
            self.arn = arn_formatter("monitoring-schedule", name, backend.account_id, backend.region_name)
            self.tags = list(tags or [])
            self.creation_time = utcnow()
            self.configure(backend, config)

        def configure(self, backend: Any, config: dict[str, Any]) -> None:
            self.config = config
            self.type = config.get("MonitoringType") or "DataQuality"
            self.endpoint_name = None
            name = config.get("MonitoringJobDefinitionName")
            if name:
                definitions = getattr(backend, _MONITORING_DEFINITIONS.get(self.type, ""), None)
                if definitions is None or name not in definitions:
                    raise ValidationError(message=f"Could not find {self.type} job definition '{name}'.")
                job_input = next(
                    (value for key, value in vars(definitions[name]).items() if key.endswith("_job_input")), None
                )
                self.endpoint_name = ((job_input or {}).get("EndpointInput") or {}).get("EndpointName")
            else:
                inputs = (config.get("MonitoringJobDefinition") or {}).get("MonitoringInputs") or []
                self.endpoint_name = next(
                    (i["EndpointInput"].get("EndpointName") for i in inputs if i.get("EndpointInput")), None
                )
            self.last_modified_time = utcnow()

        def summary(self) -> dict[str, Any]:
            return {
                "MonitoringScheduleName": self.name,
                "MonitoringScheduleArn": self.arn,
                "CreationTime": self.creation_time,
                "LastModifiedTime": self.last_modified_time,
                "MonitoringScheduleStatus": "Scheduled",
                "EndpointName": self.endpoint_name,
                "MonitoringJobDefinitionName": self.config.get("MonitoringJobDefinitionName"),
                "MonitoringType": self.type,
            }

        def describe(self) -> dict[str, Any]:
            summary = self.summary()
            del summary["MonitoringJobDefinitionName"]
            return {**summary, "MonitoringScheduleConfig": self.config}

    def get(backend: Any, name: str) -> Any:
        schedule = monitoring_schedules(backend).get(name)
        if schedule is None:
            raise ResourceNotFound(message=f"Could not find monitoring schedule '{name}'.")
        return schedule

    def create_monitoring_schedule(self: Any, name: str, config: dict[str, Any], tags: Any) -> str:
        schedules = monitoring_schedules(self)
        if name in schedules:
            raise ResourceInUseException(message=f"Monitoring schedule {name} already exists.")
        schedule = MonitoringSchedule(self, name, config, tags)
        schedules[name] = schedule
        return schedule.arn

    def describe_monitoring_schedule(self: Any, name: str) -> dict[str, Any]:
        described: dict[str, Any] = get(self, name).describe()
        return described

    def update_monitoring_schedule(self: Any, name: str, config: dict[str, Any]) -> str:
        schedule = get(self, name)
        schedule.configure(self, config)
        return str(schedule.arn)

    def delete_monitoring_schedule(self: Any, name: str) -> None:
        get(self, name)
        del monitoring_schedules(self)[name]

    def list_monitoring_schedules(self: Any, **filters: Any) -> list[dict[str, Any]]:
        found = []
        for schedule in monitoring_schedules(self).values():
            summary = schedule.summary()
            if filters.get("EndpointName") and summary["EndpointName"] != filters["EndpointName"]:
                continue
            if filters.get("NameContains") and filters["NameContains"] not in schedule.name:
                continue
            if filters.get("MonitoringJobDefinitionName") and (
                summary["MonitoringJobDefinitionName"] != filters["MonitoringJobDefinitionName"]
            ):
                continue
            if filters.get("MonitoringTypeEquals") and schedule.type != filters["MonitoringTypeEquals"]:
                continue
            if filters.get("StatusEquals") and filters["StatusEquals"] != "Scheduled":
                continue
            found.append(summary)
        sort_key = {"Name": "MonitoringScheduleName", "Status": "MonitoringScheduleStatus"}.get(
            filters.get("SortBy") or "", "CreationTime"
        )
        found.sort(key=lambda item: item[sort_key], reverse=(filters.get("SortOrder") or "Descending") == "Descending")
        return found

    def handle_create(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.create_monitoring_schedule(
            self._get_param("MonitoringScheduleName"),
            self._get_param("MonitoringScheduleConfig"),
            self._get_param("Tags"),
        )
        return ActionResult({"MonitoringScheduleArn": arn})

    def handle_describe(self: Any) -> ActionResult:
        return ActionResult(
            self.sagemaker_backend.describe_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        )

    def handle_update(self: Any) -> ActionResult:
        arn = self.sagemaker_backend.update_monitoring_schedule(
            self._get_param("MonitoringScheduleName"), self._get_param("MonitoringScheduleConfig")
        )
        return ActionResult({"MonitoringScheduleArn": arn})

    def handle_delete(self: Any) -> EmptyResult:
        self.sagemaker_backend.delete_monitoring_schedule(self._get_param("MonitoringScheduleName"))
        return EmptyResult()

    def handle_list(self: Any) -> ActionResult:
        keys = ("EndpointName", "SortBy", "SortOrder", "NameContains", "StatusEquals",
                "MonitoringJobDefinitionName", "MonitoringTypeEquals")  # fmt: skip
        found = self.sagemaker_backend.list_monitoring_schedules(**{key: self._get_param(key) for key in keys})
        # NextToken is the index of the next summary: the list is rebuilt per call, in a stable order.
        start = int(self._get_param("NextToken") or 0)
        size = int(self._get_param("MaxResults") or 100)
        page = found[start : start + size]
        result: dict[str, Any] = {"MonitoringScheduleSummaries": page}
        if start + size < len(found):
            result["NextToken"] = str(start + size)
        return ActionResult(result)

    add_operations(
        SageMakerModelBackend,
        SageMakerResponse,
        create_monitoring_schedule=(create_monitoring_schedule, handle_create),
        describe_monitoring_schedule=(describe_monitoring_schedule, handle_describe),
        update_monitoring_schedule=(update_monitoring_schedule, handle_update),
        delete_monitoring_schedule=(delete_monitoring_schedule, handle_delete),
        list_monitoring_schedules=(list_monitoring_schedules, handle_list),
    )
