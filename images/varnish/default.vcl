vcl 4.1;

# Placeholder until the agent mounts the VCL generated from the stack spec: the app pod's nginx.
backend default {
  .host = "127.0.0.1";
  .port = "8080";
}
