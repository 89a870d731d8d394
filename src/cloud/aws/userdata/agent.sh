# mount_media, attach_state_volume, start_agent: hosts that run store containers under an agent.

# The shared media file system (EFS over NFS 4.1, TLS-less inside the VPC: EFS encrypts at rest).
mount_media() {
  local target=/srv/triplane-media
  mkdir -p "$target"
  if ! grep -q " $target " /etc/fstab; then
    echo "$TRIPLANE_MEDIA_FS.efs.$TRIPLANE_REGION.amazonaws.com:/ $target nfs4 nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev 0 0" >>/etc/fstab
  fi
  mountpoint -q "$target" || mount "$target"
}

# The services host keeps RabbitMQ's and cron's state on its own EBS volume, which outlives the instance.
attach_state_volume() {
  local target=/var/lib/triplane token instance
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  instance=$(curl -fsS -H "X-aws-ec2-metadata-token: $token" http://169.254.169.254/latest/meta-data/instance-id)
  local device=/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${TRIPLANE_STATE_VOLUME//-/}
  if [[ ! -e $device ]]; then
    aws ec2 attach-volume --region "$TRIPLANE_REGION" --volume-id "$TRIPLANE_STATE_VOLUME" \
      --instance-id "$instance" --device /dev/sdf
    for _ in $(seq 60); do [[ -e $device ]] && break; sleep 5; done
  fi
  blkid "$device" >/dev/null || mkfs.ext4 -q -L triplane-state "$device"
  mkdir -p "$target"
  grep -q 'LABEL=triplane-state' /etc/fstab || echo "LABEL=triplane-state $target ext4 defaults,nofail 0 2" >>/etc/fstab
  mountpoint -q "$target" || mount "$target"
}

# An agent under the control plane, labelled with its role so the control plane places the store's
# containers by role. It starts through a script that reads the current join token first: a token
# taken by another host booting at the same time makes the join fail, and the restart tries the next.
start_agent() {
  cat >/usr/local/sbin/triplane-agent <<'EOF'
#!/bin/bash
set -euo pipefail
TRIPLANE_JOIN_TOKEN=$(aws secretsmanager get-secret-value --region "$TRIPLANE_REGION" \
  --secret-id "$TRIPLANE_JOIN_SECRET" --query SecretString --output text)
export TRIPLANE_JOIN_TOKEN
exec /usr/local/bin/triplane agent --control "$TRIPLANE_CONTROL_URL" --data-dir /var/lib/triplane \
  --label "role=$TRIPLANE_ROLE" --label "store=$TRIPLANE_STORE"
EOF
  chmod 0755 /usr/local/sbin/triplane-agent
  install_unit triplane-agent /usr/local/sbin/triplane-agent
}
