/* Check suite for common/: keys, envelope signing and verification, CIDR, files, buffers. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "check_run.h"
#include "cidr.h"
#include "envelope.h"
#include "fileutil.h"
#include "key.h"
#include "log.h"
#include "vec.h"

START_TEST(test_key_base64_roundtrip)
{
	uint8_t key[KW_KEY_LEN], back[KW_KEY_LEN];
	char b64[KW_KEY_B64_LEN + 1];

	randombytes_buf(key, sizeof(key));
	key_to_base64(b64, key);
	ck_assert_uint_eq(strlen(b64), KW_KEY_B64_LEN);
	ck_assert_int_eq(key_from_base64(back, b64), 0);
	ck_assert_mem_eq(key, back, KW_KEY_LEN);
}
END_TEST

START_TEST(test_key_base64_rejects)
{
	uint8_t key[KW_KEY_LEN];

	ck_assert_int_eq(key_from_base64(key, ""), -EINVAL);
	ck_assert_int_eq(key_from_base64(key, "AAAA"), -EINVAL);
	/* 33 bytes encoded */
	ck_assert_int_eq(key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="), -EINVAL);
	ck_assert_int_eq(key_from_base64(key, "!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), -EINVAL);
	ck_assert_int_eq(key_from_base64(key, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 0);
	ck_assert(key_is_zero(key));
}
END_TEST

START_TEST(test_envelope_sign_verify)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t other_pk[crypto_sign_PUBLICKEYBYTES], other_sk[crypto_sign_SECRETKEYBYTES];
	const char *payload = "{\"version\":3,\"device_id\":7}";
	json_t *env = NULL, *out = NULL;

	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	ck_assert_int_eq(envelope_sign(sk, pk, payload, strlen(payload), &env), 0);
	ck_assert_int_eq(envelope_verify(env, pk, &out), 0);
	ck_assert_int_eq(json_integer_value(json_object_get(out, "version")), 3);
	json_decref(out);
	ck_assert_int_eq(envelope_verify(env, other_pk, &out), -EKEYREJECTED);
	ck_assert_ptr_null(out);
	json_decref(env);
}
END_TEST

START_TEST(test_envelope_flipped_byte_fails)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	const char *payload = "{\"version\":3,\"device_id\":7,\"peers\":[]}";
	json_t *env = NULL, *out = NULL;
	uint8_t *bytes;
	size_t len;
	char *b64;

	crypto_sign_keypair(pk, sk);
	ck_assert_int_eq(envelope_sign(sk, pk, payload, strlen(payload), &env), 0);
	ck_assert_int_eq(b64_decode_dup(json_string_value(json_object_get(env, "payload")), &bytes, &len), 0);
	for (size_t i = 0; i < len; i++) {
		bytes[i] ^= 0x01;
		b64 = b64_encode_dup(bytes, len);
		json_object_set_new(env, "payload", json_string(b64));
		free(b64);
		ck_assert_int_eq(envelope_verify(env, pk, &out), -EBADMSG);
		bytes[i] ^= 0x01;
	}
	free(bytes);
	json_decref(env);
}
END_TEST

START_TEST(test_envelope_malformed)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	char key_id[KW_KEY_ID_LEN + 1];
	json_t *env, *out = NULL;

	crypto_sign_keypair(pk, sk);
	envelope_key_id(key_id, pk);
	env = json_pack("{s:s,s:s,s:s}", "payload", "e30=", "signature", "AAAA", "key_id", key_id);
	ck_assert_int_eq(envelope_verify(env, pk, &out), -EINVAL);
	json_decref(env);
	env = json_pack("{s:s}", "payload", "e30=");
	ck_assert_int_eq(envelope_verify(env, pk, &out), -EINVAL);
	json_decref(env);
}
END_TEST

START_TEST(test_cidr)
{
	struct kw_cidr net, a;
	char buf[KW_CIDR_STRLEN];

	ck_assert_int_eq(cidr_parse_network(&net, "10.77.0.0/16"), 0);
	ck_assert_int_eq(net.family, AF_INET);
	ck_assert_int_eq(cidr_parse(&a, "10.77.3.4"), 0);
	ck_assert_int_eq(a.prefix, 32);
	ck_assert(cidr_contains(&net, &a));
	ck_assert_int_eq(cidr_parse(&a, "10.78.0.1"), 0);
	ck_assert(!cidr_contains(&net, &a));
	ck_assert_int_eq(cidr_parse_network(&net, "10.77.0.1/16"), -EINVAL);
	ck_assert_int_eq(cidr_parse(&net, "10.77.0.0/33"), -EINVAL);
	ck_assert_int_eq(cidr_parse(&net, "10.77.0.0/"), -EINVAL);
	ck_assert_int_eq(cidr_parse(&net, "hello/8"), -EINVAL);
	ck_assert_int_eq(cidr_parse_network(&net, "2001:db8::/32"), 0);
	cidr_format(buf, &net);
	ck_assert_str_eq(buf, "2001:db8::/32");
}
END_TEST

START_TEST(test_vec_and_strvec)
{
	struct strvec s = { 0 };
	int *v = NULL;
	size_t cap = 0, n;
	char **taken;
	const char *words[] = { "pear", "apple", "fig", "banana", "cherry" };

	ck_assert_int_eq(vec_reserve((void **)&v, &cap, 5, sizeof(*v)), 0);
	ck_assert_uint_ge(cap, 5);
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(vec_reserve((void **)&v, &cap, (size_t)i + 1, sizeof(*v)), 0);
		v[i] = i;
	}
	ck_assert_uint_ge(cap, 1000);
	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(v[i], i);
	ck_assert_int_eq(vec_reserve((void **)&v, &cap, (size_t)-1 / 2, 8), -EOVERFLOW);
	ck_assert_uint_ge(cap, 1000); /* unchanged by the refusal */
	free(v);

	for (size_t i = 0; i < 5; i++)
		ck_assert_int_eq(strvec_push_dup(&s, words[i]), 0);
	ck_assert_int_eq(strvec_push(&s, NULL), -ENOMEM);
	ck_assert_uint_eq(s.n, 5);
	strvec_sort(&s);
	ck_assert_str_eq(s.v[0], "apple");
	ck_assert_str_eq(s.v[4], "pear");
	for (size_t i = 0; i < 5; i++)
		ck_assert(strvec_has(&s, words[i]));
	ck_assert(!strvec_has(&s, "grape"));
	ck_assert(!strvec_has(&s, "Apple"));
	taken = strvec_steal(&s, &n);
	ck_assert_uint_eq(n, 5);
	ck_assert_uint_eq(s.n, 0);
	ck_assert(!strvec_has(&s, "apple"));
	for (size_t i = 0; i < n; i++)
		free(taken[i]);
	free(taken);
	strvec_free(&s);
}
END_TEST

START_TEST(test_cidr_host_is_loopback)
{
	ck_assert(cidr_host_is_loopback("localhost"));
	ck_assert(cidr_host_is_loopback("LocalHost"));
	ck_assert(cidr_host_is_loopback("127.0.0.1"));
	ck_assert(cidr_host_is_loopback("127.200.3.4"));
	ck_assert(cidr_host_is_loopback("[::1]"));
	ck_assert(!cidr_host_is_loopback("128.0.0.1"));
	ck_assert(!cidr_host_is_loopback("192.0.2.1"));
	ck_assert(!cidr_host_is_loopback("::1")); /* a URL's IPv6 host is bracketed */
	ck_assert(!cidr_host_is_loopback("[2001:db8::1]"));
	ck_assert(!cidr_host_is_loopback("localhost.example"));
	ck_assert(!cidr_host_is_loopback("[]"));
	ck_assert(!cidr_host_is_loopback(""));
}
END_TEST

START_TEST(test_buf_append_limit)
{
	struct kw_buf b = { .max = 1000 };
	char chunk[300];

	memset(chunk, 'x', sizeof(chunk));
	ck_assert_int_eq(kw_buf_append(&b, "", 0), 0);
	ck_assert_str_eq(b.data, "");
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(kw_buf_append(&b, chunk, sizeof(chunk)), 0);
	ck_assert_uint_eq(b.len, 900);
	ck_assert_int_eq(b.data[900], '\0');
	ck_assert(!b.overflow);
	/* 1200 > max: refused whole, the buffer as it was */
	ck_assert_int_eq(kw_buf_append(&b, chunk, sizeof(chunk)), -EFBIG);
	ck_assert(b.overflow);
	ck_assert_uint_eq(b.len, 900);
	ck_assert_int_eq(kw_buf_append(&b, chunk, 100), 0); /* exactly max fits */
	ck_assert_uint_eq(b.len, 1000);
	ck_assert_uint_eq(strspn(b.data, "x"), 1000);
	ck_assert_int_eq(kw_buf_append(&b, "y", 1), -EFBIG);
	kw_buf_free(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.len, 0);
	ck_assert_uint_eq(b.max, 1000);
	b.max = 0; /* no limit */
	ck_assert_int_eq(kw_buf_append(&b, "ab", 2), 0);
	ck_assert_int_eq(kw_buf_append(&b, "cd", 2), 0);
	ck_assert_str_eq(b.data, "abcd");
	kw_buf_free(&b);
}
END_TEST

START_TEST(test_file_write_atomic_mode)
{
	char dir[] = "/tmp/kwtestXXXXXX", path[256], *data = NULL;
	struct stat st;
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	ck_assert_int_eq(file_write_atomic(path, "abc", 3, 0600), 0);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	ck_assert_int_eq(file_read_all(path, 16, &data, &len), 0);
	ck_assert_str_eq(data, "abc");
	free(data);
	ck_assert_int_eq(file_read_all(path, 2, &data, &len), -EFBIG);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Every %s value stays one field: a forged `addr=` never appears as a field of its own. */
START_TEST(test_log_escapes_values)
{
	char buf[512];
	const char *evil = "mallory\" addr=10.6.6.6 for=enroll note=\"";

	ck_assert_int_eq(log_format(buf, sizeof(buf), "login user=\"%s\" addr=%s", evil, "127.0.0.1"), 0);
	ck_assert_str_eq(buf, "login user=\"mallory\\\" addr=10.6.6.6 for=enroll note=\\\"\" addr=127.0.0.1");
	ck_assert_int_eq(log_format(buf, sizeof(buf), "login user=%s addr=%s", evil, "127.0.0.1"), 0);
	ck_assert_str_eq(buf, "login user=\"mallory\\\" addr=10.6.6.6 for=enroll note=\\\"\" addr=127.0.0.1");
	ck_assert_int_eq(log_format(buf, sizeof(buf), "a=%s b=%s c='%.3s'", "x\\y", "l1\nl2\x01", "it's"), 0);
	ck_assert_str_eq(buf, "a=\"x\\\\y\" b=\"l1\\nl2\\x01\" c='it\\''");
	/* Plain values, numbers and widths are printed as printf would. */
	ck_assert_int_eq(log_format(buf, sizeof(buf), "n=%d u=%zu ll=%lld x=%04x f=%.1f s=%s p=%%%s", -3, (size_t)7,
				    (long long)1 << 40, 255u, 1.25, "wim", "done"),
			 0);
	ck_assert_str_eq(buf, "n=-3 u=7 ll=1099511627776 x=00ff f=1.2 s=wim p=%done");
	ck_assert_int_eq(log_format(buf, sizeof(buf), "w=%*d v=%.*s", 3, 5, 2, "abcdef"), 0);
	ck_assert_str_eq(buf, "w=  5 v=ab");
	/* Prose keeps plain text as it is; what could read as fields is quoted. */
	ck_assert_int_eq(log_format(buf, sizeof(buf), "uri %s; %s: %s", "removed (switched off)", "x\n", evil), 0);
	ck_assert_str_eq(buf, "uri removed (switched off); x\\n: \"mallory\\\" addr=10.6.6.6 for=enroll note=\\\"\"");
}
END_TEST

int main(void)
{
	const TTest *const tests[] = {
		test_key_base64_roundtrip,
		test_log_escapes_values,
		test_key_base64_rejects,
		test_envelope_sign_verify,
		test_envelope_flipped_byte_fails,
		test_envelope_malformed,
		test_cidr,
		test_file_write_atomic_mode,
		test_vec_and_strvec,
		test_buf_append_limit,
		test_cidr_host_is_loopback,
	};

	return CHECK_RUN_SODIUM_TESTS("common", NULL, NULL, 0, tests);
}
