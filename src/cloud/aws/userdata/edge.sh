# start_edge: an edge host.

# The edge: snapshots from the control plane, HTTP on 8080 for the load balancer, health on 8081.
start_edge() {
  local token
  until token=$(secret_value "$TRIPLANE_EDGE_SECRET") && [[ $token != pending ]]; do sleep 30; done
  umask 077
  printf '%s' "$token" >/etc/triplane/edge-token
  umask 022
  install_unit triplane-edge /usr/local/bin/triplane edge --control "$TRIPLANE_CONTROL_URL" --token-file /etc/triplane/edge-token \
    --http 0.0.0.0:8080 --https off --metrics 0.0.0.0:8081 --data-dir /var/lib/triplane
}
