# install_tools, install_node, install_triplane: what every host needs before Triplane runs. They read
# the TRIPLANE_* variables set at the top of the user data and are safe to run again on a reboot.

install_tools() {
  local wanted=(awscli ca-certificates curl jq nfs-common unzip xz-utils) missing=() p
  for p in "${wanted[@]}"; do
    dpkg-query --show --showformat='${db:Status-Status}' "$p" 2>/dev/null | grep -qx installed || missing+=("$p")
  done
  if ((${#missing[@]} > 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
}

# Node.js from the official tarball (Debian 12 ships 18; Triplane needs 20), checked against the
# release's SHASUMS256.txt.
install_node() {
  local version=$TRIPLANE_NODE_VERSION arch dir
  [[ $(uname -m) == aarch64 ]] && arch=arm64 || arch=x64
  dir=/opt/node-v$version
  if [[ ! -x $dir/bin/node ]]; then
    local tarball=node-v$version-linux-$arch.tar.xz tmp
    tmp=$(mktemp -d)
    curl -fsSLo "$tmp/$tarball" "https://nodejs.org/dist/v$version/$tarball"
    curl -fsSLo "$tmp/SHASUMS256.txt" "https://nodejs.org/dist/v$version/SHASUMS256.txt"
    (cd "$tmp" && grep " $tarball\$" SHASUMS256.txt | sha256sum -c -)
    mkdir -p "$dir"
    tar -xJf "$tmp/$tarball" -C "$dir" --strip-components=1
    rm -rf "$tmp"
  fi
  ln -sfn "$dir/bin/node" /usr/local/bin/node
  ln -sfn "$dir/bin/npm" /usr/local/bin/npm
  ln -sfn "$dir/bin/npx" /usr/local/bin/npx
}

# The Triplane release (a CDK asset of the project's source) in /opt/triplane, with its dependencies
# from the lockfile (tsx included: the CLI runs TypeScript without a build step); the store's code,
# when shipped, in /srv/triplane/<store>.
install_triplane() {
  local release=/opt/triplane
  if [[ ! -f $release/.installed-$TRIPLANE_RELEASE_KEY ]]; then
    local tmp
    tmp=$(mktemp -d)
    aws s3 cp --only-show-errors "s3://$TRIPLANE_RELEASE_BUCKET/$TRIPLANE_RELEASE_KEY" "$tmp/release.zip"
    rm -rf "$release.new" && mkdir -p "$release.new"
    unzip -q "$tmp/release.zip" -d "$release.new"
    (cd "$release.new" && npm ci --no-audit --no-fund)
    rm -rf "$release" && mv "$release.new" "$release"
    touch "$release/.installed-$TRIPLANE_RELEASE_KEY"
    rm -rf "$tmp"
  fi
  ln -sfn "$release/triplane" /usr/local/bin/triplane
  if [[ -n ${TRIPLANE_CODE_KEY:-} && ! -f /srv/triplane/$TRIPLANE_STORE/.installed-$TRIPLANE_CODE_KEY ]]; then
    local tmp
    tmp=$(mktemp -d)
    aws s3 cp --only-show-errors "s3://$TRIPLANE_RELEASE_BUCKET/$TRIPLANE_CODE_KEY" "$tmp/code.zip"
    mkdir -p "/srv/triplane/$TRIPLANE_STORE"
    unzip -qo "$tmp/code.zip" -d "/srv/triplane/$TRIPLANE_STORE"
    touch "/srv/triplane/$TRIPLANE_STORE/.installed-$TRIPLANE_CODE_KEY"
    rm -rf "$tmp"
  fi
}

# A value of a Secrets Manager secret (field $2 of its JSON, or the whole string without $2).
secret_value() {
  local value
  value=$(aws secretsmanager get-secret-value --region "$TRIPLANE_REGION" --secret-id "$1" \
    --query SecretString --output text)
  if [[ -n ${2:-} ]]; then jq -r --arg k "$2" '.[$k]' <<<"$value"; else printf '%s' "$value"; fi
}

# The environment every Triplane process on this host reads: the TRIPLANE_* variables of the user
# data (endpoints of the managed services, secret ARNs), none of which holds a secret itself.
write_environment() {
  mkdir -p /etc/triplane
  env | grep '^TRIPLANE_' | sort >/etc/triplane/aws.env
}
