# claim_control_name, start_control: the control plane's host.

# The control host answers at a fixed private name, whichever instance the group launched last.
claim_control_name() {
  local token ip
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  ip=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/local-ipv4)
  aws route53 change-resource-record-sets --hosted-zone-id "$TRIPLANE_PRIVATE_ZONE_ID" --change-batch \
    "{\"Changes\":[{\"Action\":\"UPSERT\",\"ResourceRecordSet\":{\"Name\":\"$TRIPLANE_CONTROL_HOST\",\"Type\":\"A\",\"TTL\":30,\"ResourceRecords\":[{\"Value\":\"$ip\"}]}}]}" >/dev/null
}

# The control plane: state in RDS PostgreSQL, one admin token, fresh join tokens for the agents that
# boot later (a join token is single-use, so a timer keeps a fresh one in Secrets Manager), an API
# token for the edges, and the store's stack applied.
start_control() {
  local pg url
  claim_control_name
  pg=$(secret_value "$TRIPLANE_STATE_SECRET")
  url=$(jq -r '"postgres://\(.username | @uri):\(.password | @uri)@\(.host):\(.port)/\(.dbname // "triplane")?sslmode=no-verify"' <<<"$pg")
  umask 077
  echo "TRIPLANE_DATABASE_URL=$url" >/etc/triplane/control.env
  umask 022
  mkdir -p /etc/systemd/system/triplane-control.service.d
  printf '[Service]\nEnvironmentFile=/etc/triplane/control.env\n' >/etc/systemd/system/triplane-control.service.d/state.conf
  TRIPLANE_DATABASE_URL=$url triplane control init --data-dir /var/lib/triplane
  install_unit triplane-control /usr/local/bin/triplane control --data-dir /var/lib/triplane --listen 0.0.0.0:7070
  until curl -fsS -o /dev/null http://127.0.0.1:7070/api/health; do sleep 2; done
  local admin
  admin=$(cat /var/lib/triplane/control/admin-token)
  cat >/usr/local/sbin/triplane-join-token <<EOF
#!/bin/bash
set -euo pipefail
token=\$(curl -fsS -X POST -H 'authorization: Bearer $admin' -H 'content-type: application/json' \\
  -d '{"ttlSeconds":600}' http://127.0.0.1:7070/api/join-tokens | jq -r .token)
aws secretsmanager put-secret-value --region $TRIPLANE_REGION --secret-id $TRIPLANE_JOIN_SECRET --secret-string "\$token" >/dev/null
EOF
  chmod 0700 /usr/local/sbin/triplane-join-token
  printf '[Service]\nType=oneshot\nExecStart=/usr/local/sbin/triplane-join-token\n' >/etc/systemd/system/triplane-join-token.service
  printf '[Timer]\nOnActiveSec=0\nOnUnitActiveSec=60\n\n[Install]\nWantedBy=timers.target\n' >/etc/systemd/system/triplane-join-token.timer
  systemctl daemon-reload
  systemctl enable --now triplane-join-token.timer
  if [[ $(secret_value "$TRIPLANE_EDGE_SECRET") == pending ]]; then
    local edge
    edge=$(TRIPLANE_TOKEN=$admin triplane tokens create --control http://127.0.0.1:7070 --name edges --json | jq -r .token)
    aws secretsmanager put-secret-value --region "$TRIPLANE_REGION" --secret-id "$TRIPLANE_EDGE_SECRET" \
      --secret-string "$edge" >/dev/null
  fi
  printf '%s' "$TRIPLANE_STACK_YAML" | base64 -d | gunzip >/etc/triplane/triplane.yaml
  TRIPLANE_TOKEN=$admin triplane apply --control http://127.0.0.1:7070 -f /etc/triplane/triplane.yaml \
    --env "$TRIPLANE_ENVIRONMENT"
}
