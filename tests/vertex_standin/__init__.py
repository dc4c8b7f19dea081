"""A local stand-in for the Vertex AI Agent Engine Sessions API (``google.cloud.aiplatform.v1``).

A real gRPC server speaking the API's own messages (google-cloud-aiplatform's
protobuf classes) and the ``google.longrunning.Operations`` service its
client polls, keeping sessions and events in memory and behaving as the API
documents them. Google Cloud cannot be reached from the test machines; this
is what the ``agentengine://`` backend is tested against, through the real
client over a real socket.
"""
