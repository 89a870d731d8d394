# install_unit: how every Triplane process runs on a host: a systemd unit, restarted whenever it
# stops, so it comes back after a crash or a reboot.

# A systemd unit named $1 running the command $2… as root, restarted whenever it stops.
install_unit() {
  local name=$1
  shift
  cat >"/etc/systemd/system/$name.service" <<EOF
[Unit]
Description=$name
After=network-online.target remote-fs.target
Wants=network-online.target

[Service]
EnvironmentFile=/etc/triplane/aws.env
ExecStart=$*
Restart=always
RestartSec=5

[Install]
WantedBy=multi-user.target
EOF
  systemctl daemon-reload
  systemctl enable --now "$name.service"
}
