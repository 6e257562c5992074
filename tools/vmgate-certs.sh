#!/usr/bin/env bash
# vmgate-certs.sh DIR — a private CA (ca.pem, ca.key) and the server certificates it signs:
# gateway.pem/.key (browser-facing HTTPS) and hostd.pem/.key (the gateway↔hostd link, which
# uses mutual TLS with the same CA). Each file is created only when missing; keys are 0600.
# SANs: DNS:localhost, IP:127.0.0.1, DNS:<hostname>; extra SANs from VG_CERT_SANS
# (e.g. "DNS:vmgate.example.org,IP:10.0.0.5").
set -euo pipefail

[ $# -eq 1 ] || {
    echo "usage: $0 DIR" >&2
    exit 2
}
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077

days=3650
host=$(hostname)
sans="DNS:localhost,IP:127.0.0.1,DNS:$host${VG_CERT_SANS:+,$VG_CERT_SANS}"

if [ ! -s ca.key ] || [ ! -s ca.pem ]; then
    rm -f ca.key ca.pem gateway.pem hostd.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -days "$days" -subj "/O=vmgate/CN=vmgate CA $host" \
        -addext "basicConstraints=critical,CA:TRUE" \
        -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout ca.key -out ca.pem 2>/dev/null
    chmod 644 ca.pem
fi

# name, extended key usage: hostd is a TLS server to the gateway, the gateway is a server to
# browsers and presents the same certificate as a client on the link.
for spec in gateway:serverAuth,clientAuth hostd:serverAuth,clientAuth; do
    name=${spec%%:*}
    eku=${spec#*:}
    [ -s "$name.key" ] && [ -s "$name.pem" ] && continue
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -sha256 \
        -subj "/O=vmgate/CN=$name.$host" -keyout "$name.key" -out "$name.csr" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=$eku" "subjectAltName=$sans" >"$name.ext"
    openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -sha256 \
        -days "$days" -extfile "$name.ext" -out "$name.pem" 2>/dev/null
    rm -f "$name.csr" "$name.ext"
    chmod 644 "$name.pem"
done
chmod 600 ca.key gateway.key hostd.key
