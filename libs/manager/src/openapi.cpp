// The OpenAPI 3 description of the API, served at /openapi.json and shown by Swagger UI at /docs.
#include "sf/manager/api.h"

namespace sf::manager {

std::string openapi_json() {
  return R"JSON({
"openapi": "3.0.3",
"info": {"title": "StreamForge queue-manager", "version": "0.1.0",
  "description": "Starts, stops and watches market-data workflows. Every JSON answer is the envelope {status, message, data}. Mutating calls need 'Authorization: Bearer <API_TOKEN>' when the server has API_TOKEN set. State changes are pushed on the WebSocket /ws/topic."},
"components": {
  "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
  "schemas": {
    "Envelope": {"type": "object", "required": ["status", "message", "data"], "properties": {
      "status": {"type": "string", "enum": ["success", "error"]}, "message": {"type": "string"}, "data": {}}},
    "QueueCreate": {"type": "object", "required": ["symbol", "type"], "properties": {
      "symbol": {"type": "string", "pattern": "^[A-Z0-9]{2,20}$", "example": "BTCUSDT"},
      "type": {"type": "string", "description": "api_candles_<interval>, api_trades, ws_candles_<interval>, ws_trades, or api/rest/ws (candles at interval)", "example": "api_candles_1m"},
      "time_range": {"type": "string", "pattern": "^\\d{4}-\\d{2}-\\d{2}:\\d{4}-\\d{2}-\\d{2}$", "example": "2024-06-01:2024-06-02"},
      "interval": {"type": "string", "example": "1m"}}},
    "JobRequest": {"type": "object", "required": ["target", "type"], "properties": {
      "target": {"type": "string", "enum": ["loader-producer", "loader-ws-candles", "loader-ws-trades", "arango-connector", "graph-builder", "gnn-trainer", "visualizer"]},
      "type": {"type": "string"}, "interval": {"type": "string"},
      "collection_inputs": {"type": "array", "items": {"type": "string"}},
      "collection_output": {"type": "string"}, "graph_collection": {"type": "string"},
      "model_output": {"type": "string"}, "inference_interval": {"type": "string"}, "source": {"type": "string"}}},
    "Workflow": {"type": "object", "required": ["symbol", "requests"], "properties": {
      "symbol": {"type": "string", "example": "BTCUSDT"},
      "time_range": {"type": "string", "example": "2024-06-01:2024-06-30"},
      "requests": {"type": "array", "items": {"$ref": "#/components/schemas/JobRequest"}}}},
    "JobState": {"type": "object", "properties": {
      "target": {"type": "string"}, "type": {"type": "string"}, "job_name": {"type": "string"},
      "status": {"type": "string", "enum": ["pending", "launched", "started", "loading", "finished", "interrupted", "error"]},
      "records_written": {"type": "integer"}, "kafka_topic": {"type": "string"}, "collection": {"type": "string"},
      "producer_id": {"type": "string"}, "started_at": {"type": "string", "nullable": true},
      "finished_at": {"type": "string", "nullable": true}, "error_message": {"type": "string", "nullable": true}}},
    "QueueState": {"type": "object", "properties": {
      "id": {"type": "string"}, "symbol": {"type": "string"}, "type": {"type": "string"},
      "status": {"type": "string", "enum": ["pending", "loading", "stopping", "finished", "interrupted", "error"]},
      "loader_type": {"type": "string"}, "start_time": {"type": "string", "nullable": true},
      "end_time": {"type": "string", "nullable": true}, "last_loaded_timestamp": {"type": "string", "nullable": true},
      "records_written": {"type": "integer"}, "error_message": {"type": "string", "nullable": true},
      "kafka_topic": {"type": "string"}, "started_at": {"type": "string", "nullable": true},
      "finished_at": {"type": "string", "nullable": true},
      "jobs": {"type": "array", "items": {"$ref": "#/components/schemas/JobState"}}}}},
  "responses": {
    "Error": {"description": "{status: error, message: what is wrong and how to fix it, data}", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}}}},
"paths": {
  "/queues/start": {"post": {"summary": "Start a queue (QueueCreate) or a workflow", "security": [{"bearer": []}],
    "requestBody": {"required": true, "content": {"application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/QueueCreate"}, {"$ref": "#/components/schemas/Workflow"}]}}}},
    "responses": {"200": {"description": "started: data.queue_id and data.jobs", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
      "400": {"$ref": "#/components/responses/Error"}, "401": {"$ref": "#/components/responses/Error"},
      "403": {"$ref": "#/components/responses/Error"}, "413": {"$ref": "#/components/responses/Error"},
      "415": {"$ref": "#/components/responses/Error"}, "421": {"$ref": "#/components/responses/Error"},
      "422": {"$ref": "#/components/responses/Error"}}}},
  "/queues/stop": {"post": {"summary": "Stop a queue", "security": [{"bearer": []}],
    "parameters": [{"name": "queue_id", "in": "query", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "stopping", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
      "401": {"$ref": "#/components/responses/Error"}, "404": {"$ref": "#/components/responses/Error"},
      "409": {"$ref": "#/components/responses/Error"}, "503": {"$ref": "#/components/responses/Error"}}}},
  "/queues": {"get": {"summary": "List queues, newest first",
    "parameters": [{"name": "status", "in": "query", "schema": {"type": "string"}}, {"name": "symbol", "in": "query", "schema": {"type": "string"}},
      {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
      {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}}],
    "responses": {"200": {"description": "data: array of QueueState", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
      "422": {"$ref": "#/components/responses/Error"}}}},
  "/queues/{queue_id}": {"get": {"summary": "One queue and its jobs",
    "parameters": [{"name": "queue_id", "in": "path", "required": true, "schema": {"type": "string"}}],
    "responses": {"200": {"description": "data: QueueState", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}},
      "404": {"$ref": "#/components/responses/Error"}}}},
  "/health/live": {"get": {"summary": "Liveness", "responses": {"200": {"description": "alive"}}}},
  "/health/ready": {"get": {"summary": "Readiness: Kafka and the store reachable", "responses": {"200": {"description": "ready"}, "503": {"$ref": "#/components/responses/Error"}}}},
  "/health/startup": {"get": {"summary": "Started", "responses": {"200": {"description": "started"}}}},
  "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition format", "content": {"text/plain": {}}}}}}}
})JSON";
}

}  // namespace sf::manager
