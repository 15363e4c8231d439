#!/usr/bin/env bash
# Makes the TLS files of a herd cluster with the openssl CLI:
#   OUTDIR/ca.pem, ca.key         the cluster CA (made once; reused when both exist)
#   OUTDIR/NODE.pem, NODE.key     one per node, signed by that CA, usable as server and client
# Every node certificate names IP:127.0.0.1, DNS:localhost and DNS:NODE, plus each --ip given.
# Keys are mode 600. Re-running re-issues the named nodes' certificates with the same CA.
set -euo pipefail

usage="usage: herd-certs.sh [--ip A.B.C.D]... OUTDIR NODE [NODE...]"
die() {
  echo "herd-certs: $*" >&2
  exit 1
}

ips=()
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ip)
      [[ $# -ge 2 ]] || die "--ip needs an address; $usage"
      ips+=("$2")
      shift 2
      ;;
    --ip=*)
      ips+=("${1#--ip=}")
      shift
      ;;
    -h | --help)
      echo "$usage"
      exit 0
      ;;
    -*) die "unknown option '$1'; $usage" ;;
    *)
      args+=("$1")
      shift
      ;;
  esac
done
[[ ${#args[@]} -ge 2 ]] || die "need OUTDIR and at least one NODE; $usage"
outdir=${args[0]}
nodes=("${args[@]:1}")

command -v openssl > /dev/null || die "the openssl command is not installed"

valid_ip() {
  local IFS=.
  local -a parts
  [[ $1 =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] || return 1
  read -ra parts <<< "$1"
  for p in "${parts[@]}"; do
    ((10#$p <= 255)) || return 1
  done
}
for ip in "${ips[@]}"; do
  valid_ip "$ip" || die "--ip '$ip' is not an IPv4 address (A.B.C.D, each 0-255)"
done
# A node name is a file name and a name in the certificate: letters, digits, '-', '_' and '.'
# (as topologies allow), not "ca".
for node in "${nodes[@]}"; do
  [[ $node =~ ^[A-Za-z0-9]([A-Za-z0-9._-]{0,62})$ ]] \
    || die "node name '$node' must be 1-63 letters, digits, '-', '_' or '.', starting alnum"
  [[ $node != ca ]] || die "node name 'ca' is taken by the CA's own files"
done

mkdir -p "$outdir" || die "cannot create directory '$outdir'"
[[ -w $outdir ]] || die "directory '$outdir' is not writable"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# openssl's own error output only on failure, after our one line.
run() {
  if ! "$@" > "$tmp/log" 2>&1; then
    echo "herd-certs: openssl failed: $*" >&2
    cat "$tmp/log" >&2
    exit 1
  fi
}

new_key() {
  run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
  chmod 600 "$1"
}

ca_pem=$outdir/ca.pem
ca_key=$outdir/ca.key
if [[ -e $ca_pem && -e $ca_key ]]; then
  run openssl x509 -in "$ca_pem" -noout
  echo "herd-certs: reusing CA $ca_pem"
elif [[ -e $ca_pem || -e $ca_key ]]; then
  die "only one of $ca_pem and $ca_key exists; remove it or restore the other"
else
  new_key "$ca_key"
  cat > "$tmp/ca.cnf" << 'EOF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = herd cluster CA
[ext]
basicConstraints = critical, CA:true
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
EOF
  run openssl req -config "$tmp/ca.cnf" -new -x509 -key "$ca_key" -days 3650 -sha256 \
    -out "$ca_pem"
  chmod 644 "$ca_pem"
  echo "herd-certs: made CA $ca_pem"
fi

for node in "${nodes[@]}"; do
  san="IP:127.0.0.1,DNS:localhost,DNS:$node"
  for ip in "${ips[@]}"; do
    san+=",IP:$ip"
  done
  cat > "$tmp/node.cnf" << EOF
[req]
distinguished_name = dn
prompt = no
[dn]
CN = $node
[ext]
basicConstraints = critical, CA:false
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth, clientAuth
subjectAltName = $san
authorityKeyIdentifier = keyid
EOF
  new_key "$outdir/$node.key"
  run openssl req -config "$tmp/node.cnf" -new -key "$outdir/$node.key" -out "$tmp/node.csr"
  run openssl x509 -req -in "$tmp/node.csr" -CA "$ca_pem" -CAkey "$ca_key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 825 -sha256 \
    -extfile "$tmp/node.cnf" -extensions ext -out "$outdir/$node.pem"
  chmod 644 "$outdir/$node.pem"
  run openssl verify -CAfile "$ca_pem" "$outdir/$node.pem"
  echo "herd-certs: made $outdir/$node.pem ($san)"
done
