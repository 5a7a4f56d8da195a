"""GET /api/v1/openapi.json: the HTTP contract as an OpenAPI 3.1 document (a test keeps it true to the routes)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from preclinical import __version__
from preclinical.domain.run import Outcome, RunStatus, ScenarioRunStatus
from preclinical.providers.registry import NAMES as PROVIDERS
from preclinical.server.responses import json_response

routes = web.RouteTableDef()

_ERROR = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _json(ref: str, description: str = "OK") -> dict[str, Any]:
    schema = {"$ref": f"#/components/schemas/{ref}"} if not ref.startswith("[") else {
        "type": "array", "items": {"$ref": f"#/components/schemas/{ref[1:-1]}"}}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _body(ref: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": kind}}


NO_CONTENT = {"204": {"description": "Done"}, "404": _ERROR}

# Keyed by "METHOD /path" exactly as registered with aiohttp (path parameters as {id}).
OPERATIONS: dict[str, dict[str, Any]] = {
    "GET /": {"summary": "Service name, version and where this document lives", "responses": {"200": {"description": "OK"}}},
    "GET /health": {
        "summary": "Readiness: database, models or the offline engine, providers",
        "responses": {"200": _json("Health"), "503": _json("Health", "The database is not usable")},
    },
    "GET /api/v1/openapi.json": {"summary": "This document", "responses": {"200": {"description": "OK"}}},
    "GET /api/v1/agents": {"summary": "List agents (a bare array)", "responses": {"200": _json("[Agent]")}},
    "POST /api/v1/agents": {
        "summary": "Create an agent", "requestBody": _body("AgentCreate"),
        "responses": {"201": _json("Agent", "Created"), "400": _ERROR},
    },
    "POST /api/v1/agents/validate-browser": {
        "summary": "Check that a web chat page is usable through Browser Use Cloud before saving a browser agent",
        "requestBody": _body("BrowserValidation"),
        "responses": {"200": _json("ValidationResult", "Checked (ok false with the reason when not usable)"),
                      "400": _ERROR, "500": {**_ERROR, "description": "BROWSER_USE_API_KEY is not configured"}},
    },
    "POST /api/v1/agents/{id}/validate-browser": {
        "summary": "Check a browser agent's chat page through Browser Use Cloud (url, profile and api_base from its config)",
        "parameters": [_ID],
        "responses": {"200": _json("ValidationResult", "Checked (ok false with the reason when not usable)"),
                      "400": _ERROR, "404": _ERROR,
                      "500": {**_ERROR, "description": "BROWSER_USE_API_KEY is not configured"}},
    },
    "GET /api/v1/agents/{id}": {"summary": "Get an agent", "parameters": [_ID], "responses": {"200": _json("Agent"), "404": _ERROR}},
    "PATCH /api/v1/agents/{id}": {
        "summary": "Update an agent (config is shallow-merged; an echoed masked secret keeps the stored one)",
        "parameters": [_ID], "requestBody": _body("AgentUpdate"),
        "responses": {"200": _json("Agent"), "400": _ERROR, "404": _ERROR},
    },
    "DELETE /api/v1/agents/{id}": {"summary": "Delete an agent (soft)", "parameters": [_ID], "responses": NO_CONTENT},
    "GET /api/v1/scenarios": {
        "summary": "List scenarios (active and approved by default)",
        "parameters": [
            _query("tag", "Only scenarios with this tag"),
            _query("category", "Only this category"),
            _query("q", "Text search in name, opening message, chief complaint and tags"),
            _query("approved", "true (default), false (drafts) or all"),
            _query("active", "true (default), false (deleted) or all"),
        ],
        "responses": {"200": _json("ScenarioList"), "400": _ERROR},
    },
    "POST /api/v1/scenarios": {
        "summary": "Create a scenario", "requestBody": _body("ScenarioInput"),
        "responses": {"201": _json("Scenario", "Created"), "400": _ERROR},
    },
    "GET /api/v1/scenarios/{id}": {
        "summary": "Get a scenario (inactive ones too)", "parameters": [_ID],
        "responses": {"200": _json("Scenario"), "404": _ERROR},
    },
    "PATCH /api/v1/scenarios/{id}": {
        "summary": "Update any editable field (atomically; tags replace)", "parameters": [_ID],
        "requestBody": _body("ScenarioInput"), "responses": {"200": _json("Scenario"), "400": _ERROR, "404": _ERROR},
    },
    "DELETE /api/v1/scenarios/{id}": {"summary": "Delete a scenario (soft; PATCH is_active true revives it)",
                                      "parameters": [_ID], "responses": NO_CONTENT},
    "POST /api/v1/scenarios/generate": {
        "summary": "Generate one runnable draft scenario (approved false) from protocol or guideline text",
        "description": "Needs a language model (400 when none is configured); model failures are 502.",
        "requestBody": _body("GenerateRequest"),
        "responses": {"201": _json("Scenario", "Created"), "400": _ERROR, "502": _ERROR},
    },
    "POST /api/v1/scenarios/generate-batch": {
        "summary": "Generate draft scenarios for each distinct process in a text (long texts go section by section)",
        "requestBody": _body("GenerateBatchRequest"),
        "responses": {"201": _json("ScenarioList", "Created"), "400": _ERROR, "502": _ERROR},
    },
    "GET /api/v1/scenarios/export": {
        "summary": "Export scenarios as a file (json, jsonl or csv), with the list filters",
        "parameters": [
            _query("format", "json (default), jsonl or csv"),
            _query("tag", "Only scenarios with this tag"),
            _query("category", "Only this category"),
            _query("q", "Text search in name, opening message, chief complaint and tags"),
            _query("approved", "true (default), false (drafts) or all"),
            _query("active", "true (default), false (deleted) or all"),
        ],
        "responses": {"200": {"description": "The file, with a Content-Disposition filename",
                              "content": {"application/json": {}, "application/x-ndjson": {}, "text/csv": {}}},
                      "400": _ERROR},
    },
    "POST /api/v1/scenarios/import": {
        "summary": "Import scenarios from a file's text (ours or the reference platform's); duplicates are skipped",
        "parameters": [
            _query("format", "json, jsonl, csv or reference; detected when absent"),
            _query("dry_run", "true: validate and report, write nothing", "boolean"),
        ],
        "requestBody": {"required": True, "content": {"application/json": {}, "application/x-ndjson": {},
                                                      "text/csv": {}, "text/plain": {}}},
        "responses": {"200": _json("ImportReport", "Nothing created (dry run, duplicates or invalid items)"),
                      "201": _json("ImportReport", "Scenarios created"), "400": _ERROR},
    },
    "POST /start-run": {
        "summary": "Start a test run against an agent",
        "description": "Selection order: scenario_ids, else test_suite_id, else tags, else every active approved "
                       "scenario (priority, then name); max_scenarios truncates. Scenario runs exist before the reply.",
        "requestBody": _body("StartRun"),
        "responses": {"200": _json("StartRunResponse"), "400": _ERROR, "404": _ERROR},
    },
    "POST /cancel-run": {
        "summary": "Cancel a run: in-flight conversations stop and nothing more is written to them",
        "requestBody": _body("CancelRun"), "responses": {"200": {"description": "OK"}, "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/tests": {
        "summary": "List runs, newest first",
        "parameters": [_query("limit", "1-100, default 25", "integer"), _query("offset", "default 0", "integer"),
                       _query("status", "running, completed, failed or canceled"), _query("agent_id", "Only this agent")],
        "responses": {"200": _json("RunList")},
    },
    "GET /api/v1/tests/compare": {
        "summary": "Compare two runs: pass rate and triage accuracy with Wilson 95% CIs, per-scenario changes, "
                   "exact McNemar tests on the scenarios both ran, and a verdict",
        "parameters": [{"name": "base", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "The baseline run (UUID or run_… id)"},
                       {"name": "candidate", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "The run to judge against it"}],
        "responses": {"200": _json("RunComparison"), "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/tests/compare/export-html": {
        "summary": "The comparison as one self-contained HTML report (inline CSS and SVG, no scripts)",
        "parameters": [{"name": "base", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "The baseline run (UUID or run_… id)"},
                       {"name": "candidate", "in": "query", "required": True, "schema": {"type": "string"},
                        "description": "The run to judge against it"}],
        "responses": {"200": {"description": "HTML, with a Content-Disposition filename",
                              "content": {"text/html": {}}}, "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/tests/{id}": {"summary": "Get a run (UUID or run_… id)", "parameters": [_ID],
                               "responses": {"200": _json("TestRun"), "404": _ERROR}},
    "GET /api/v1/tests/{id}/statistics": {
        "summary": "A run's pass rate and triage accuracy with Wilson 95% CIs, its triage confusion matrix and, when "
                   "scenarios were repeated, pass@k, worst-of-k, disposition agreement and score spread per scenario",
        "parameters": [_ID, _query("grading", "A regrade's id or label: its grading instead of the run's own")],
        "responses": {"200": _json("RunStatistics"), "404": _ERROR},
    },
    "POST /api/v1/tests/{id}/regrades": {
        "summary": "Grade a finished run's transcripts again (another judge model, temperature or an edited rubric, "
                   "or the same judge for test-retest); stored beside the run's own grading, never over it",
        "parameters": [_ID], "requestBody": _body("RegradeRequest"),
        "responses": {"202": _json("Regrade", "Started"), "400": _ERROR, "404": _ERROR,
                      "409": _json("Error", "The run is still running")},
    },
    "GET /api/v1/tests/{id}/regrades": {
        "summary": "A run's regrades, oldest first", "parameters": [_ID],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {
            "type": "object", "properties": {"regrades": {"type": "array",
                                                          "items": {"$ref": "#/components/schemas/Regrade"}}}}}}},
                      "404": _ERROR},
    },
    "GET /api/v1/tests/{id}/regrades/{regrade_id}": {
        "summary": "A regrade and its agreement with the run's own grading (or ?against= another regrade): Cohen's "
                   "kappa with a 95% CI and percent agreement over criteria, per axis and per criterion, verdict "
                   "flips, disposition agreement and the disagreements",
        "parameters": [_ID, {"name": "regrade_id", "in": "path", "required": True, "schema": {"type": "string"},
                             "description": "The regrade's id or label"},
                       _query("against", "Another regrade's id or label (default: the run's own grading)")],
        "responses": {"200": {"description": "OK"}, "404": _ERROR},
    },
    "DELETE /api/v1/tests/{id}": {"summary": "Delete a run (cancels it first when active)", "parameters": [_ID],
                                  "responses": NO_CONTENT},
    "GET /api/v1/tests/{id}/export-csv": {
        "summary": "One CSV row per scenario run (triage, readability, transcript columns)", "parameters": [_ID],
        "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}, "404": _ERROR},
    },
    "GET /api/v1/tests/{id}/export-json": {
        "summary": "The run with its scenario runs, transcripts and gradings", "parameters": [_ID],
        "responses": {"200": {"description": "JSON"}, "404": _ERROR},
    },
    "GET /api/v1/tests/{id}/export-html": {
        "summary": "The run as one self-contained HTML report: rates with intervals, the triage confusion matrix, "
                   "criteria by axis, repeats, and every transcript with the cited evidence highlighted",
        "parameters": [_ID, _query("grading", "A regrade's id or label: report that grading instead of the run's own")],
        "responses": {"200": {"description": "HTML, with a Content-Disposition filename",
                              "content": {"text/html": {}}}, "404": _ERROR},
    },
    "POST /api/v1/scenario-runs/{id}/reviews": {
        "summary": "A clinician's review of a scenario run: each criterion MET / PARTIALLY MET / NOT MET, the "
                   "disposition they read, a note; stored with the reviewer's name (a new review replaces theirs)",
        "parameters": [_ID], "requestBody": _body("ReviewRequest"),
        "responses": {"201": {"description": "Saved"}, "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/tests/{id}/reviews": {
        "summary": "A run's clinician reviews and the judge's agreement with them: Cohen's kappa with a 95% CI per "
                   "criterion and per axis, verdict flips, disposition agreement and the disagreements",
        "parameters": [_ID], "responses": {"200": {"description": "OK"}, "404": _ERROR},
    },
    "GET /api/v1/tests/{id}/reviews/export": {
        "summary": "A run's reviews as a file (format preclinical-reviews), to review on several machines",
        "parameters": [_ID], "responses": {"200": {"description": "JSON, with a Content-Disposition filename"},
                                           "404": _ERROR},
    },
    "POST /api/v1/tests/{id}/reviews/import": {
        "summary": "Import a reviews file into the run (matched by scenario run id, else by position in the same run)",
        "parameters": [_ID], "requestBody": {"required": True, "content": {"application/json": {}}},
        "responses": {"200": {"description": "What was imported and what was skipped, with the reason"},
                      "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/scenario-runs": {
        "summary": "A run's scenario runs, in run order, with their latest grading",
        "parameters": [{"name": "test_run_id", "in": "query", "required": True, "schema": {"type": "string"}},
                       _query("limit", "1-100, default 50", "integer"), _query("offset", "default 0", "integer"),
                       _query("status", "pending, running, grading, passed, failed, error or canceled")],
        "responses": {"200": _json("ScenarioRunList"), "400": _ERROR, "404": _ERROR},
    },
    "GET /api/v1/scenario-runs/{id}": {"summary": "One scenario run with transcript and grading", "parameters": [_ID],
                                       "responses": {"200": _json("ScenarioRun"), "404": _ERROR}},
    "GET /events": {
        "summary": "Server-sent events for a run: replays its log (and from Last-Event-ID), then live; "
                   "closes after the terminal event",
        "parameters": [{"name": "run_id", "in": "query", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "text/event-stream"}, "400": _ERROR},
    },
}

_TS = {"type": ["string", "null"], "format": "date-time"}
_STR_OR_NULL = {"type": ["string", "null"]}

_INT = {"type": "integer"}
_INT_OR_NULL = {"type": ["integer", "null"]}
_NUM_OR_NULL = {"type": ["number", "null"]}
_BOOL_OR_NULL = {"type": ["boolean", "null"]}
_PERCENT_CI = {"type": ["array", "null"], "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
               "description": "Wilson 95% interval, in percent"}

SCHEMAS: dict[str, Any] = {
    "StartRun": {
        "type": "object", "required": ["agent_id"],
        "properties": {
            "agent_id": {"type": "string"}, "name": {"type": "string"},
            "scenario_ids": {"type": "array", "items": {"type": "string"}}, "test_suite_id": {"type": "string"},
            "tags": {"type": "array", "items": {"type": "string"}}, "max_scenarios": _INT,
            "max_turns": {"type": "integer", "description": "Stored as given; clamped to 5-15 when run (default 11)"},
            "concurrency_limit": _INT, "benchmark_mode": {"type": "boolean"},
            "creative_mode": {"type": "boolean", "description": "Adversarial patient (needs a model)"},
            "repeats": {"type": "integer", "minimum": 1, "maximum": 20,
                        "description": "Play each scenario this many times (default 1); total_scenarios counts "
                                       "every scenario run"},
        },
    },
    "StartRunResponse": {
        "type": "object", "required": ["id", "test_run_id", "status", "total_scenarios", "scenarios_launched"],
        "properties": {"id": {"type": "string"}, "test_run_id": {"type": "string"}, "status": {"type": "string"},
                       "total_scenarios": _INT, "scenarios_launched": _INT,
                       "skipped": {"type": "array", "items": {"type": "object"}}},
    },
    "CancelRun": {"type": "object", "required": ["test_run_id"], "properties": {"test_run_id": {"type": "string"}}},
    "TestRun": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "test_run_id": {"type": "string"}, "test_suite_id": _STR_OR_NULL,
            "agent_id": _STR_OR_NULL, "agent_type": _STR_OR_NULL, "agent_name": _STR_OR_NULL, "name": _STR_OR_NULL,
            "status": {"enum": [s.value for s in RunStatus]},
            "total_scenarios": _INT, "max_turns": _INT_OR_NULL, "concurrency_limit": _INT,
            "passed_count": _INT, "failed_count": _INT, "error_count": _INT, "pass_rate": {"type": "number"},
            "benchmark_mode": {"type": "boolean"}, "creative_mode": {"type": "boolean"},
            "repeats": {"type": "integer", "description": "How many times the run plays each scenario"},
            "is_finalizing": {"type": "boolean"}, "finalize_started_at": _TS, "started_at": _TS,
            "completed_at": _TS, "canceled_at": _TS, "deleted_at": _TS, "created_at": _TS, "updated_at": _TS,
            "spec": {"type": ["object", "null"],
                     "description": "What produced the run, recorded when it started: engine, patient and judge "
                                    "(model, temperature, prompt versions), effective max_turns, reader_version. "
                                    "Null for runs made before it was recorded."},
            "verdict": {
                "type": "object", "required": ["outcome", "headline", "reason"],
                "description": "What the run says about the agent: an errored, canceled or unfinished run has no verdict.",
                "properties": {"outcome": {"enum": [o.value for o in Outcome]}, "headline": {"type": "string"},
                               "reason": {"type": "string"}},
            },
        },
    },
    "RunList": {"type": "object", "required": ["runs", "total"],
                "properties": {"runs": {"type": "array", "items": {"$ref": "#/components/schemas/TestRun"}},
                               "total": _INT}},
    "TranscriptEntry": {
        "type": "object",
        "properties": {"turn": _INT, "role": {"enum": ["attacker", "target", "system"]}, "content": {"type": "string"},
                       "timestamp": {"type": "string"}, "latency_ms": _INT_OR_NULL},
    },
    "CriterionResult": {
        "type": "object",
        "properties": {
            "criterion": {"type": "string"}, "criterion_index": _INT,
            "decision": {"enum": ["MET", "PARTIALLY MET", "NOT MET", "UNGRADED"]}, "rationale": {"type": "string"},
            "supporting_evidence": {"type": "array", "items": {"type": "string"}},
            "contradicting_evidence": {"type": "array", "items": {"type": "string"}},
            "points_awarded": {"type": "number"}, "points_possible": {"type": "number"},
            "overridden": {"type": "boolean"}, "override_reason": _STR_OR_NULL, "critical": {"type": "boolean"},
        },
    },
    "ScenarioRun": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "test_run_id": {"type": "string"}, "scenario_id": _STR_OR_NULL,
            "position": _INT, "repeat_index": {"type": "integer", "description": "Which repeat (0-based)"},
            "status": {"enum": [s.value for s in ScenarioRunStatus]},
            "transcript": {"type": "array", "items": {"$ref": "#/components/schemas/TranscriptEntry"}},
            "metadata": {"type": ["object", "null"]}, "error_code": _STR_OR_NULL, "error_message": _STR_OR_NULL,
            "duration_ms": _INT_OR_NULL, "started_at": _TS, "completed_at": _TS, "canceled_at": _TS,
            "created_at": _TS, "scenario_name": _STR_OR_NULL, "passed": _BOOL_OR_NULL,
            "grade_summary": _STR_OR_NULL,
            "criteria_results": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CriterionResult"},
                                 "description": "The graded criteria (MET, PARTIALLY MET, NOT MET), each with `met`."},
            "ungraded_criteria": {"type": ["array", "null"], "items": {"$ref": "#/components/schemas/CriterionResult"},
                                  "description": "Criteria the judge could not grade (UNGRADED): not scored, and kept "
                                                 "out of criteria_results so no client reads them as failed."},
            "total_points": _NUM_OR_NULL, "max_points": _NUM_OR_NULL, "score_percent": _NUM_OR_NULL,
            "triage_result": _STR_OR_NULL, "gold_standard": _STR_OR_NULL, "triage_correct": _BOOL_OR_NULL,
            "ungraded_count": _INT_OR_NULL,
            "triage_status": {"enum": ["clear", "ambiguous", "unreadable", None]},
            "triage_reason": _STR_OR_NULL,
            "triage_comparison": {"enum": ["correct", "acceptable", "under", "over", None]},
            "triage_review": _BOOL_OR_NULL, "not_gradable_offline": _STR_OR_NULL,
        },
    },
    "ScenarioRunList": {"type": "object", "required": ["results", "total"],
                        "properties": {"results": {"type": "array", "items": {"$ref": "#/components/schemas/ScenarioRun"}},
                                       "total": _INT}},
    "RunComparisonSide": {
        "type": "object", "required": ["run", "n", "graded", "passed", "pass_rate", "triage"],
        "properties": {
            "run": {"type": "object", "properties": {"id": {"type": "string"}, "test_run_id": {"type": "string"},
                                                     "name": _STR_OR_NULL, "agent_name": _STR_OR_NULL,
                                                     "status": {"type": "string"}}},
            "n": _INT, "graded": {"type": "integer", "description": "Scenario runs with a verdict"},
            "passed": _INT, "failed": _INT, "errors": _INT,
            "pass_rate": {**_NUM_OR_NULL, "description": "Percent of graded scenario runs that passed"},
            "pass_rate_ci": _PERCENT_CI,
            "triage": {"type": "object", "properties": {
                "graded": _INT, "correct": _INT, "under_triage": _INT, "over_triage": _INT, "no_answer": _INT,
                "acceptable": {**_INT, "description": "Not the gold level but one the case accepts (acceptable_levels); "
                                                      "counted apart from correct, not in accuracy"},
                "accuracy": _NUM_OR_NULL, "accuracy_ci": _PERCENT_CI,
                "matrix": {"type": "object", "description": "gold level → agent's level (or none) → count"},
                "matrix_acceptable": {"type": "object", "description": "the part of `matrix` that the cases accept "
                                                                      "(acceptable_levels), same shape"}}},
        },
    },
    "ReviewRequest": {
        "type": "object", "required": ["reviewer", "criteria"],
        "properties": {
            "reviewer": {"type": "string"},
            "criteria": {"type": "array", "items": {"type": "object", "required": ["criterion_index", "decision"],
                                                    "properties": {"criterion_index": _INT, "decision": {
                                                        "enum": ["MET", "PARTIALLY MET", "NOT MET"]}}}},
            "disposition": {"enum": ["Emergency", "Clinician", "Home care", None]},
            "note": {"type": "string"},
        },
    },
    "RegradeRequest": {
        "type": "object",
        "properties": {
            "engine": {"enum": ["model", "rules"], "description": "Default: model when one is configured"},
            "judge_model": {"type": "string", "description": "Another judge model (default: the configured one)"},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "rubric_overrides": {"type": "object", "description": "scenario_id → rubric criteria to grade with"},
            "label": {"type": "string", "description": "A name for this grading (default from the options)"},
        },
    },
    "Regrade": {
        "type": "object",
        "properties": {
            "id": {"type": "string"}, "test_run_id": {"type": "string"}, "label": {"type": "string"},
            "engine": {"type": "string"}, "judge_model": _STR_OR_NULL, "temperature": _NUM_OR_NULL,
            "rubric_overrides": {"type": "array", "items": {"type": "string"}},
            "status": {"enum": ["running", "completed", "failed", "interrupted"]}, "total": _INT, "graded": _INT,
            "errors": _INT, "created_at": _TS, "completed_at": _TS,
        },
    },
    "RunStatistics": {
        "type": "object", "required": ["run", "repeats", "n", "graded", "pass_rate", "triage", "consistency"],
        "properties": {
            "run": {"type": "object"}, "repeats": {"type": "integer", "description": "Repeats per scenario"},
            "n": _INT, "graded": _INT, "passed": _INT, "failed": _INT, "errors": _INT,
            "pass_rate": _NUM_OR_NULL, "pass_rate_ci": {**_PERCENT_CI, "description": (
                "Wilson 95% interval in percent; with repeats it counts scenarios, not scenario runs")},
            "triage": {"type": "object"},
            "scenarios": {"type": "integer", "description": "Distinct scenarios (only with repeats)"},
            "consistency": {"type": ["object", "null"], "description": (
                "With repeats: `scenarios` (per scenario: repeats, passed, pass_at_k, worst_of_k, dispositions, "
                "disposition_agreement, score mean/sd/min/max) and `overall` (pass_at_k, worst_of_k, pass_rate, "
                "consistent_dispositions, disposition_agreement, disposition_kappa (Fleiss), score_sd_mean, "
                "unstable_verdicts); shares are fractions 0-1")},
        },
    },
    "ScenarioChange": {
        "type": "object",
        "properties": {"scenario_id": {"type": "string"}, "scenario_name": _STR_OR_NULL, "gold_standard": _STR_OR_NULL,
                       "base": {"$ref": "#/components/schemas/ScenarioOutcome"},
                       "candidate": {"$ref": "#/components/schemas/ScenarioOutcome"}},
    },
    "ScenarioOutcome": {
        "type": "object",
        "properties": {"status": {"type": "string"}, "passed": _BOOL_OR_NULL, "triage_result": _STR_OR_NULL,
                       "triage": {"enum": ["correct", "under", "over", "none", None]}},
    },
    "RunComparison": {
        "type": "object", "required": ["base", "candidate", "paired", "pass", "triage", "changes", "verdict"],
        "properties": {
            "base": {"$ref": "#/components/schemas/RunComparisonSide"},
            "candidate": {"$ref": "#/components/schemas/RunComparisonSide"},
            "paired": {"type": "integer", "description": "Scenarios both runs played"},
            "only_in_base": {"type": "array", "items": {"type": "object"}},
            "only_in_candidate": {"type": "array", "items": {"type": "object"}},
            "pass": {"type": "object", "properties": {
                "pairs": _INT, "fixed": _INT, "broken": _INT, "delta": _NUM_OR_NULL,
                "p_value": {"type": "number", "description": "Exact McNemar test on fixed vs broken"}}},
            "triage": {"type": "object", "properties": {
                "pairs": _INT, "gained": _INT, "lost": _INT, "delta": _NUM_OR_NULL,
                "p_value": {"type": "number", "description": "Exact McNemar test on triage gained vs lost"}}},
            "changes": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"$ref": "#/components/schemas/ScenarioChange"}},
                "description": "fixed, broken, triage_changed, new_under_triaged_emergencies"},
            "verdict": {"type": "object", "properties": {
                "text": {"type": "string"}, "direction": {"enum": ["better", "worse", None]},
                "significant": {"type": "boolean"},
                "regression": {"type": "boolean",
                               "description": "Significantly worse (p < 0.05), or an emergency newly under-triaged"}}},
        },
    },
    "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}},
    "Check": {"type": "object", "required": ["status", "detail"],
              "properties": {"status": {"enum": ["ok", "warning", "error"]}, "detail": {"type": "string"}}},
    "Health": {
        "type": "object", "required": ["status", "timestamp", "checks", "setup"],
        "properties": {
            "status": {"enum": ["ok", "error"]}, "timestamp": {"type": "string"}, "version": {"type": "string"},
            "engine": {"enum": ["offline", "model"]},
            "checks": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Check"}},
            "setup": {"type": "object"}, "error": {"type": "string"},
        },
    },
    "Agent": {
        "type": "object", "required": ["id", "provider", "name", "config", "is_active"],
        "properties": {
            "id": {"type": "string", "format": "uuid"}, "provider": {"enum": list(PROVIDERS)},
            "name": {"type": "string"}, "description": _STR_OR_NULL,
            "config": {"type": "object", "description": "Provider settings; secrets are masked"},
            "is_active": {"type": "boolean"}, "deleted_at": _TS, "created_at": _TS, "updated_at": _TS,
        },
    },
    "AgentCreate": {
        "type": "object", "required": ["provider", "name"],
        "properties": {"provider": {"enum": list(PROVIDERS)}, "name": {"type": "string"},
                       "description": _STR_OR_NULL, "config": {"type": "object"}},
    },
    "AgentUpdate": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "description": _STR_OR_NULL, "config": {"type": "object"},
                       "is_active": {"type": "boolean"}},
    },
    "BrowserValidation": {
        "type": "object", "required": ["url", "profile_id"],
        "properties": {"url": {"type": "string"}, "profile_id": {"type": "string"},
                       "api_base": {"type": "string", "description": "Browser Use API base (optional; default "
                                    "https://api.browser-use.com/api/v2)"}},
    },
    "ValidationResult": {
        "type": "object", "required": ["ok", "error"],
        "properties": {"ok": {"type": "boolean"}, "error": _STR_OR_NULL},
    },
    "Criterion": {
        "type": "object", "required": ["criterion"],
        "properties": {"criterion": {"type": "string"}, "points": {"type": "number", "minimum": 0},
                       "tags": {"type": "array", "items": {"type": "string"}}, "critical": {"type": "boolean"},
                       "check": {"type": "object", "description": "Machine check for the offline grader"}},
    },
    "ScenarioContent": {
        "type": "object",
        "properties": {
            "initial_message": {"type": "string"}, "clinical_facts": {"type": "string"},
            "gold_standard": {"enum": ["Emergency", "Clinician", "Home care"]},
            "demographics": {"type": ["string", "object"]}, "chief_complaint": {"type": "string"},
            "sop_instructions": {"type": "string"}, "test_type": {"type": "string"},
        },
    },
    "ScenarioInput": {
        "type": "object",
        "properties": {
            "name": {"type": "string"}, "category": _STR_OR_NULL,
            "scenario_type": {"enum": ["full", "demo", "custom"]},
            "content": {"$ref": "#/components/schemas/ScenarioContent"},
            "rubric_criteria": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
            "is_active": {"type": "boolean"}, "approved": {"type": "boolean"},
            "priority": {"type": ["integer", "null"]}, "tags": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Scenario": {
        "allOf": [{"$ref": "#/components/schemas/ScenarioInput"}],
        "type": "object", "required": ["scenario_id", "name", "content", "tags"],
        "properties": {
            "scenario_id": {"type": "string", "format": "uuid"}, "source": {"type": "string"},
            "library_key": _STR_OR_NULL,
            "problems": {"type": "array", "items": {"type": "string"}, "description": "Why it cannot run yet"},
            "created_at": _TS, "updated_at": _TS,
        },
    },
    "ScenarioList": {
        "type": "object", "required": ["scenarios", "total"],
        "properties": {"scenarios": {"type": "array", "items": {"$ref": "#/components/schemas/Scenario"}},
                       "total": {"type": "integer"}},
    },
    "GenerateRequest": {
        "type": "object", "required": ["text"],
        "properties": {"text": {"type": "string", "description": "Protocol, guideline or SOP text"},
                       "category": {"type": "string"}, "name": {"type": "string"},
                       "tags": {"type": "array", "items": {"type": "string"}}},
    },
    "GenerateBatchRequest": {
        "type": "object", "required": ["text"],
        "properties": {"text": {"type": "string"}, "category": {"type": "string"},
                       "tags": {"type": "array", "items": {"type": "string"}}},
    },
    "ImportReport": {
        "type": "object", "required": ["dry_run", "total", "counts", "created", "duplicates", "invalid", "not_runnable"],
        "properties": {
            "dry_run": {"type": "boolean"}, "total": _INT,
            "counts": {"type": "object", "additionalProperties": _INT},
            "created": {"type": "array", "description": "Created (or, in a dry run, would be)",
                        "items": {"type": "object", "properties": {"index": _INT, "scenario_id": {"type": "string"},
                                                                   "name": {"type": "string"},
                                                                   "approved": {"type": "boolean"}}}},
            "duplicates": {"type": "array", "items": {"type": "object", "properties": {
                "index": _INT, "name": _STR_OR_NULL, "existing_id": {"type": "string"}, "reason": {"type": "string"}}}},
            "invalid": {"type": "array", "items": {"type": "object", "properties": {
                "index": _INT, "name": _STR_OR_NULL, "problems": {"type": "array", "items": {"type": "string"}}}}},
            "not_runnable": {"type": "array", "description": "Created, but missing what a run needs",
                             "items": {"type": "object", "properties": {
                                 "index": _INT, "scenario_id": {"type": "string"}, "name": {"type": "string"},
                                 "problems": {"type": "array", "items": {"type": "string"}}}}},
        },
    },
}


def document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for key, operation in OPERATIONS.items():
        method, path = key.split(" ", 1)
        paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "Preclinical API", "version": __version__,
                 "description": "Test healthcare AI agents with simulated patients and clinical rubrics."},
        "servers": [{"url": "http://127.0.0.1:3000"}],
        "paths": paths,
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "Required only off loopback"}}},
    }


@routes.get("/api/v1/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(document())
