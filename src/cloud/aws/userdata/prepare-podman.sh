# prepare_podman: installs and configures Podman the way `triplane host prepare` does (src/agent/host):
# the same Debian packages and the same containers.conf drop-in, derived from the same facts, so a host
# prepared either way ends up identical. It only adds what is missing: installed packages are left
# alone, a drop-in with the right settings is not rewritten, and nothing is stopped or removed.

TRIPLANE_PODMAN_PACKAGES=(podman runc crun slirp4netns uidmap fuse-overlayfs mmdebstrap netavark
  aardvark-dns catatonit iptables modsecurity-crs restic)
TRIPLANE_DROP_IN=/etc/containers/containers.conf.d/50-triplane.conf
TRIPLANE_SYSCTL=/etc/sysctl.d/60-triplane.conf
# The text of SYSCTL_TEXT: without autogroup scheduling, niceness ranks every process on the host, so
# niced backups and control-plane work only take CPU the storefront leaves.
TRIPLANE_SYSCTL_TEXT='# Written by `triplane host prepare`: niceness must rank every process on this host, so that
# backups and the control plane (niced) only take CPU the storefront leaves.
kernel.sched_autogroup_enabled = 0'

# The required packages dpkg does not report as installed, one per line.
podman_missing_packages() {
  local p status
  for p in "${TRIPLANE_PODMAN_PACKAGES[@]}"; do
    # shellcheck disable=SC2016 # dpkg-query's own field syntax
    status=$(dpkg-query --show --showformat='${db:Status-Status}' "$p" 2>/dev/null || true)
    [[ $status == installed ]] || echo "$p"
  done
}

# v2, hybrid, v1 or none, by the rules of parseCgroupLayout.
podman_cgroup_layout() {
  awk '{
    split($0, halves, " - "); split(halves[1], left, " "); split(halves[2], right, " ")
    if (left[5] == "/sys/fs/cgroup" && right[1] == "cgroup2") root = 1
    if (right[1] == "cgroup") v1 = 1
    if (right[1] == "cgroup2") v2 = 1
  } END {
    if (root) print "v2"; else if (v1 && v2) print "hybrid"; else if (v1) print "v1"; else print "none"
  }' /proc/self/mountinfo
}

# The hard limit named $1 ("Max open files", "Max processes") of this shell's children; empty when unlimited.
podman_hard_limit() {
  local value
  value=$(awk -v name="$1" 'index($0, name) == 1 { n = split(name, w, " "); print $(n + 2) }' /proc/self/limits)
  [[ $value == unlimited ]] || echo "$value"
}

# The drop-in text this host needs: the text of planHostConfig, line for line.
podman_drop_in_text() {
  local cgroup systemd=no runtime=runc manager=cgroupfs logger=file nofile=16384 nproc=32768 hard
  cgroup=$(podman_cgroup_layout)
  [[ -d /run/systemd/system ]] && systemd=yes
  # crun refuses v1 and hybrid hosts; the systemd manager needs systemd on a unified hierarchy.
  [[ $cgroup == v2 ]] && runtime=crun
  [[ $systemd == yes && $cgroup == v2 ]] && manager=systemd
  [[ $systemd == yes ]] && logger=journald
  # Without CAP_SYS_RESOURCE a container's limits cannot exceed the caller's hard limits.
  hard=$(podman_hard_limit 'Max open files')
  [[ -n $hard ]] && ((hard < nofile)) && nofile=$hard
  hard=$(podman_hard_limit 'Max processes')
  [[ -n $hard ]] && ((hard < nproc)) && nproc=$hard
  cat <<EOF
# Written by \`triplane host prepare\` from what it found on this host; it is rewritten when that
# changes, so put local settings in another drop-in.
[containers]
default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]
log_driver = "k8s-file"

[engine]
runtime = "${runtime}"
cgroup_manager = "${manager}"
events_logger = "${logger}"
pull_policy = "never"
EOF
}

# Setting lines only: comments and blank lines do not make two drop-ins differ.
podman_setting_lines() {
  sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' | grep -v -e '^$' -e '^#' || true
}

prepare_podman() {
  local missing
  mapfile -t missing < <(podman_missing_packages)
  if ((${#missing[@]} > 0)); then
    echo "prepare_podman: installing ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  else
    echo "prepare_podman: packages: all installed"
  fi

  local wanted current=''
  wanted=$(podman_drop_in_text)
  [[ -f $TRIPLANE_DROP_IN ]] && current=$(podman_setting_lines <"$TRIPLANE_DROP_IN")
  if [[ $current == "$(podman_setting_lines <<<"$wanted")" ]]; then
    echo "prepare_podman: drop-in: current"
  else
    echo "prepare_podman: drop-in: writing $TRIPLANE_DROP_IN"
    mkdir -p "$(dirname "$TRIPLANE_DROP_IN")"
    # Podman reads its configuration on every call: it must never see half a file.
    printf '%s\n' "$wanted" >"$TRIPLANE_DROP_IN.triplane-new"
    chmod 0644 "$TRIPLANE_DROP_IN.triplane-new"
    mv -f "$TRIPLANE_DROP_IN.triplane-new" "$TRIPLANE_DROP_IN"
  fi

  # A kernel without autogroup scheduling already ranks every process by niceness.
  if [[ -e /proc/sys/kernel/sched_autogroup_enabled ]]; then
    local persisted=''
    [[ -f $TRIPLANE_SYSCTL ]] && persisted=$(podman_setting_lines <"$TRIPLANE_SYSCTL")
    if [[ $(cat /proc/sys/kernel/sched_autogroup_enabled) == 0 &&
      $persisted == "$(podman_setting_lines <<<"$TRIPLANE_SYSCTL_TEXT")" ]]; then
      echo "prepare_podman: scheduler: current"
    else
      echo "prepare_podman: scheduler: autogroup off, writing $TRIPLANE_SYSCTL"
      printf '%s\n' "$TRIPLANE_SYSCTL_TEXT" >"$TRIPLANE_SYSCTL.triplane-new"
      chmod 0644 "$TRIPLANE_SYSCTL.triplane-new"
      mv -f "$TRIPLANE_SYSCTL.triplane-new" "$TRIPLANE_SYSCTL"
      sysctl --quiet --write kernel.sched_autogroup_enabled=0
    fi
  fi

  # slirp4netns, running as a store user, opens /dev/net/tun; a missing device is left to doctor.
  if [[ -e /dev/net/tun ]]; then
    local mode
    mode=$(stat --format=%a /dev/net/tun)
    if (((8#$mode & 8#006) != 8#006)); then
      echo "prepare_podman: tun: chmod 0666 /dev/net/tun (was $mode)"
      chmod 0666 /dev/net/tun
    else
      echo "prepare_podman: tun: usable by store users"
    fi
  fi
  podman info --format '{{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}} {{.Host.EventLogger}}' >/dev/null
  echo "prepare_podman: podman works"
}
