/*
 * coordd/net/tls.c: the OpenSSL contexts of the client and peer
 * listeners and of outgoing peer connections. TLS 1.2 and later only.
 * Clients: a server certificate (--cert-file, --key-file), and with
 * --client-cert-auth a client certificate signed by --trusted-ca-file is
 * required. Peers: with --peer-cert-file both sides present certificates
 * and both verify the other's against --peer-trusted-ca-file, always; the
 * dialing side also checks that the certificate names the host (IP or DNS
 * name) of the peer address it dialed, and both sides check that it names
 * the member the peer HELLO claims (tls_peer_names(), from peer.c).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "coordd/net/net_int.h"

static void tls_err(char *err, size_t errlen, const char *what,
		    const char *file)
{
	char buf[200];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "TLS: %s %s: %s", what, file, buf);
	ERR_clear_error();
}

/* A context with our certificate and key, verifying the other side
 * against ca (NULL: no verification) when verify. */
static SSL_CTX *ctx_new(bool server, const char *cert, const char *key,
			const char *ca, bool verify, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method()
					  : TLS_client_method());

	if (ctx == NULL) {
		tls_err(err, errlen, "creating a context", "");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (cert != NULL && cert[0] != '\0') {
		if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
			tls_err(err, errlen, "loading certificate", cert);
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
			tls_err(err, errlen, "loading key", key);
			goto fail;
		}
		if (SSL_CTX_check_private_key(ctx) != 1) {
			tls_err(err, errlen, "key does not match certificate",
				cert);
			goto fail;
		}
	}
	if (ca != NULL && ca[0] != '\0') {
		if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1) {
			tls_err(err, errlen, "loading CA", ca);
			goto fail;
		}
	}
	if (verify) {
		SSL_CTX_set_verify(ctx,
				   SSL_VERIFY_PEER |
					   SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
				   NULL);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The certificate must name host: its IP address (a SAN of type IP) or
 * its DNS name. Returns 0, or -1 when OpenSSL cannot record it. */
int tls_expect_host(SSL *ssl, const char *addr)
{
	char host[256];
	const char *colon = strrchr(addr, ':');
	size_t len = colon != NULL ? (size_t)(colon - addr) : strlen(addr);
	struct in6_addr a6;
	struct in_addr a4;

	if (len >= 2 && addr[0] == '[' && addr[len - 1] == ']') {
		addr++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(host))
		return -1;
	memcpy(host, addr, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		return X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
						     host) == 1
			       ? 0
			       : -1;
	if (SSL_set_tlsext_host_name(ssl, host) != 1)
		return -1;
	return SSL_set1_host(ssl, host) == 1 ? 0 : -1;
}

/* The member a peer certificate names. A member's name, matched like a
 * host name (a DNS SAN equal to it; the CN only when the certificate has
 * no DNS SAN) -- so a certificate for n1 cannot speak for n2 although the
 * same CA signed both (issue 14 §1(a), issue 11 §6). Or, when by_addr,
 * the host of the member's peer address (an IP or DNS SAN): the caller
 * allows that only when no other member shares the host, since on a
 * shared host an address names no member in particular. */
bool tls_peer_names(SSL *ssl, const char *name, const char *addr,
		    bool by_addr)
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	char host[256];
	unsigned port;
	struct in6_addr a6;
	struct in_addr a4;

	if (cert == NULL)
		return false;
	if (X509_check_host(cert, name, strlen(name),
			    X509_CHECK_FLAG_NO_WILDCARDS, NULL) == 1)
		return true;
	if (!by_addr || !config_split_addr(addr, host, sizeof(host), &port))
		return false;
	if (inet_pton(AF_INET, host, &a4) == 1 ||
	    inet_pton(AF_INET6, host, &a6) == 1)
		return X509_check_ip_asc(cert, host, 0) == 1;
	return X509_check_host(cert, host, strlen(host),
			       X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) == 1;
}

/* A listener's sessions are resumed only on the listener that made them
 * (the context names it). Without a context, OpenSSL refuses to resume a
 * session whose client certificate it verified ("session id context
 * uninitialized"), and a client resuming under --client-cert-auth or on
 * the peer port lost its handshake (issue 14 §14). */
static int ctx_session_id(SSL_CTX *ctx, const char *listener, char *err,
			  size_t errlen)
{
	if (SSL_CTX_set_session_id_context(ctx, (const unsigned char *)listener,
					   (unsigned)strlen(listener)) != 1) {
		tls_err(err, errlen, "setting the session id context of",
			listener);
		return -1;
	}
	return 0;
}

/* A private key that others may read is a certificate anyone on the
 * host can use (issue 14 §15): said at warn, once per file. */
static void key_file_check(const char *key)
{
	struct stat st;

	if (key[0] != '\0' && stat(key, &st) == 0 && (st.st_mode & 077) != 0)
		log_warn("key file %s is readable by group or others (mode %03o): chmod 600 it",
			 key, (unsigned)(st.st_mode & 0777));
}

int tls_init(struct net *net, char *err, size_t errlen)
{
	const struct config *c = net->cfg;

	key_file_check(c->key_file);
	if (strcmp(c->peer_key_file, c->key_file) != 0)
		key_file_check(c->peer_key_file);

	if (c->cert_file[0] != '\0') {
		net->client_tls = ctx_new(true, c->cert_file, c->key_file,
					  c->trusted_ca_file,
					  c->client_cert_auth, err, errlen);
		if (net->client_tls == NULL ||
		    ctx_session_id(net->client_tls, "coordd client", err,
				   errlen) != 0)
			return -1;
	}
	if (c->peer_cert_file[0] != '\0') {
		net->peer_server_tls = ctx_new(true, c->peer_cert_file,
					       c->peer_key_file,
					       c->peer_trusted_ca_file, true,
					       err, errlen);
		if (net->peer_server_tls == NULL ||
		    ctx_session_id(net->peer_server_tls, "coordd peer", err,
				   errlen) != 0)
			return -1;
		net->peer_client_tls = ctx_new(false, c->peer_cert_file,
					       c->peer_key_file,
					       c->peer_trusted_ca_file, true,
					       err, errlen);
		if (net->peer_client_tls == NULL)
			return -1;
	}
	return 0;
}

void tls_free(struct net *net)
{
	SSL_CTX_free(net->client_tls);
	SSL_CTX_free(net->peer_server_tls);
	SSL_CTX_free(net->peer_client_tls);
}

/* Whether the (length-delimited) string is one of names. */
static bool name_listed(const char *names, const ASN1_STRING *s)
{
	int len = ASN1_STRING_length(s);

	return len > 0 && config_list_has(names,
					  (const char *)ASN1_STRING_get0_data(s),
					  (size_t)len);
}

bool tls_conn_name_listed(struct conn *c, const char *names)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	X509 *cert;
	X509_NAME *subj;
	GENERAL_NAMES *sans;
	bool found = false;
	int i = -1;

	if (ssl == NULL || names[0] == '\0')
		return false;
	cert = SSL_get1_peer_certificate(ssl);
	if (cert == NULL)
		return false;
	subj = X509_get_subject_name(cert);
	while (!found && (i = X509_NAME_get_index_by_NID(subj, NID_commonName,
							 i)) >= 0)
		found = name_listed(names, X509_NAME_ENTRY_get_data(
						   X509_NAME_get_entry(subj, i)));
	sans = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (int k = 0; !found && sans != NULL &&
			k < sk_GENERAL_NAME_num(sans); k++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(sans, k);

		if (g->type == GEN_DNS)
			found = name_listed(names, g->d.dNSName);
	}
	GENERAL_NAMES_free(sans);
	X509_free(cert);
	return found;
}
