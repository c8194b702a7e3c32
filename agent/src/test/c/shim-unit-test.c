/*
 * Unit tests of corral-shim's pure parts: the config parser (shim-config.c) and the cgroup v2 device program
 * builder (shim-devices.c). No root, no kernel: the device programs are run by the small BPF interpreter below
 * on the context the kernel would pass. The build (agent/pom.xml) compiles and runs this; exit 1 fails it.
 */
#include "../../main/c/corral-shim.h"

#include <setjmp.h>

static int failures, checks;
static jmp_buf on_fail;
static char fail_text[MSG_MAX + 64];

#define CHECK(cond, ...)                                                                                       \
    do {                                                                                                       \
        checks++;                                                                                              \
        if (!(cond)) {                                                                                         \
            failures++;                                                                                        \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                               \
            fprintf(stderr, __VA_ARGS__);                                                                      \
            fputc('\n', stderr);                                                                               \
        }                                                                                                      \
    } while (0)

static void catch_failure(const char *msg)
{
    snprintf(fail_text, sizeof fail_text, "%s", msg);
    longjmp(on_fail, 1);
}

/* ------------------------------------------------------------------------------------------------ */
/* Config                                                                                            */

static char config_path[] = "/tmp/corral-shim-unit-XXXXXX";

/* Writes the records (key, value, key, value, ..., NULL) NUL-separated, parses them; returns NULL on
 * success or the failure message. */
static const char *parse_records(const char *const *kv)
{
    int fd = open(config_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    if (fd < 0) {
        perror("open test config");
        exit(2);
    }
    for (size_t i = 0; kv[i]; i++)
        write_all(fd, kv[i], strlen(kv[i]) + 1);
    close(fd);
    memset(&cfg, 0, sizeof cfg); /* the parser's allocations leak: a test process */
    fail_text[0] = 0;
    if (setjmp(on_fail))
        return fail_text;
    parse_config(config_path);
    return NULL;
}

static void expect_error(const char *const *kv, const char *fragment)
{
    const char *err = parse_records(kv);
    CHECK(err && strstr(err, fragment), "expected an error containing \"%s\", got \"%s\"", fragment,
          err ? err : "(accepted)");
}

static void test_config_defaults(void)
{
    const char *kv[] = {"arg", "/bin/true", NULL};
    const char *err = parse_records(kv);
    CHECK(!err, "minimal config refused: %s", err);
    CHECK(cfg.arg.n == 1 && strcmp(cfg.arg.v[0], "/bin/true") == 0 && cfg.arg.v[1] == NULL, "arg");
    CHECK(strcmp(cfg.cwd, "/") == 0, "cwd defaults to /");
    CHECK(cfg.no_new_privs == 1, "no_new_privs defaults to 1");
    CHECK(cfg.log_max_bytes == 10LL * 1024 * 1024 && cfg.log_max_files == 3, "log defaults");
    CHECK(cfg.clone_flags == 0 && cfg.caps == 0 && !cfg.init, "no namespaces, no capabilities, no init");
}

static void test_config_full(void)
{
    const char *kv[] = {"arg", "sh", "arg", "-c", "arg", "", "env", "A=1", "env", "PATH=/bin",
                        "cwd", "/work", "hostname", "box", "ns", "pid", "ns", "mount", "ns", "uts", "ns", "ipc",
                        "ns", "net", "ns", "cgroup", "cgroup_procs", "/sys/fs/cgroup/x/cgroup.procs",
                        "rootfs", "/r", "readonly_rootfs", "1",
                        "mount", "bind\t/src\t/dst\tro,rec,nosuid",
                        "mount", "tmpfs\t\t/t\tsize=1m,ro,exec,mode=755",
                        "mask_path", "/proc/kcore", "readonly_path", "/proc/sys", "uid", "1000", "gid", "100",
                        "groups", "1,2,3", "cap", "0", "cap", "21", "init", "1", "no_new_privs", "0",
                        "log_dir", "/logs", "log_max_bytes", "4096", "log_max_files", "5", "exit_file", "/x",
                        "device_cgroup", "/sys/fs/cgroup/x", "device_rule", "c 1:3 rwm", NULL};
    const char *err = parse_records(kv);
    CHECK(!err, "full config refused: %s", err);
    if (err)
        return;
    CHECK(cfg.arg.n == 3 && strcmp(cfg.arg.v[1], "-c") == 0 && cfg.arg.v[2][0] == 0, "args, an empty one kept");
    CHECK(cfg.env.n == 2 && strcmp(cfg.env.v[1], "PATH=/bin") == 0, "env");
    CHECK(strcmp(cfg.cwd, "/work") == 0 && strcmp(cfg.hostname, "box") == 0, "cwd, hostname");
    CHECK(cfg.clone_flags == (CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET),
          "clone flags %#x", cfg.clone_flags);
    CHECK(cfg.ns_cgroup == 1, "cgroup namespace is unshared, not cloned");
    CHECK(cfg.n_mounts == 2, "two mounts");
    struct mount_entry *b = &cfg.mounts[0], *t = &cfg.mounts[1];
    CHECK(b->type == MOUNT_BIND && strcmp(b->source, "/src") == 0 && strcmp(b->dest, "/dst") == 0 && b->ro &&
              b->rec && b->flags == MS_NOSUID,
          "bind mount parsed");
    CHECK(t->type == MOUNT_TMPFS && t->ro && strcmp(t->data, "size=1m,mode=755") == 0 &&
              t->flags == (MS_NOSUID | MS_NODEV),
          "tmpfs: flags out of the data, exec clears noexec; data \"%s\" flags %#lx", t->data, t->flags);
    CHECK(cfg.uid == 1000 && cfg.gid == 100 && cfg.n_groups == 3 && cfg.groups[2] == 3, "credentials");
    CHECK(cfg.caps == ((1ULL << 0) | (1ULL << 21)), "caps %#llx", (unsigned long long)cfg.caps);
    CHECK(cfg.init == 1 && cfg.no_new_privs == 0 && cfg.readonly_rootfs == 1, "flags");
    CHECK(cfg.log_max_bytes == 4096 && cfg.log_max_files == 5, "log limits");
    CHECK(cfg.device_rule.n == 1 && strcmp(cfg.device_cgroup, "/sys/fs/cgroup/x") == 0, "device filter");
}

static void test_config_rlimits_and_user(void)
{
    const char *kv[] = {"arg", "x", "rlimit", "nofile 1024 2048", "rlimit", "core unlimited unlimited",
                        "rlimit", "nproc 10 -1", "user", "bob:staff", NULL};
    const char *err = parse_records(kv);
    CHECK(!err, "rlimits refused: %s", err);
    if (err)
        return;
    CHECK(cfg.n_rlimits == 3, "three rlimits");
    CHECK(cfg.rlimits[0].resource == RLIMIT_NOFILE && cfg.rlimits[0].limit.rlim_cur == 1024 &&
              cfg.rlimits[0].limit.rlim_max == 2048,
          "nofile 1024 2048");
    CHECK(cfg.rlimits[1].resource == RLIMIT_CORE && cfg.rlimits[1].limit.rlim_cur == RLIM_INFINITY &&
              cfg.rlimits[1].limit.rlim_max == RLIM_INFINITY,
          "core unlimited");
    CHECK(cfg.rlimits[2].resource == RLIMIT_NPROC && cfg.rlimits[2].limit.rlim_cur == 10 &&
              cfg.rlimits[2].limit.rlim_max == RLIM_INFINITY,
          "nproc 10 -1");
    CHECK(strcmp(cfg.user, "bob:staff") == 0, "user kept for init to resolve");
}

static void test_config_errors(void)
{
    expect_error((const char *[]){"env", "A=1", NULL}, "missing arg (the command)");
    expect_error((const char *[]){"arg", "", NULL}, "the first arg (the program) is empty");
    expect_error((const char *[]){"arg", "x", "colour", "blue", NULL}, "unknown key \"colour\"");
    expect_error((const char *[]){"arg", "x", "env", "NOEQUALS", NULL}, "env: expected NAME=value");
    expect_error((const char *[]){"arg", "x", "env", "=1", NULL}, "env: expected NAME=value");
    expect_error((const char *[]){"arg", "x", "cwd", "rel", NULL}, "cwd: not an absolute path: \"rel\"");
    expect_error((const char *[]){"arg", "x", "cwd", "/a", "cwd", "/b", NULL}, "cwd: given more than once");
    expect_error((const char *[]){"arg", "x", "uid", "1", "uid", "2", NULL}, "uid: given more than once");
    expect_error((const char *[]){"arg", "x", "uid", "-1", NULL}, "uid: not a number in range: \"-1\"");
    expect_error((const char *[]){"arg", "x", "uid", "4294967295", NULL}, "uid: not a number in range");
    expect_error((const char *[]){"arg", "x", "cap", "64", NULL}, "cap: not a capability number");
    expect_error((const char *[]){"arg", "x", "ns", "time", NULL}, "ns: unknown namespace \"time\"");
    expect_error((const char *[]){"arg", "x", "hostname", "h", NULL}, "hostname needs \"ns uts\"");
    expect_error((const char *[]){"arg", "x", "ns", "uts", "hostname",
                                  "a-name-that-is-longer-than-sixty-four-bytes-which-the-kernel-refuses-x", NULL},
                 "hostname: longer than 64 bytes");
    expect_error((const char *[]){"arg", "x", "rootfs", "/r", NULL}, "need \"ns mount\"");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "mount", "bind\t/a\t/b", NULL},
                 "mount: expected \"TYPE\\tSOURCE\\tDEST\\tOPTIONS\"");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "mount", "nfs\t/a\t/b\t", NULL},
                 "mount: unknown type \"nfs\"");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "mount", "bind\trel\t/b\t", NULL},
                 "bind source not an absolute path");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "mount", "bind\t/a\t/b\tshared", NULL},
                 "unknown bind option \"shared\"");
    expect_error((const char *[]){"arg", "x", "ns", "user", NULL}, "\"ns user\" needs uid_map and gid_map");
    expect_error((const char *[]){"arg", "x", "uid_map", "0 1000 1", "gid_map", "0 1000 1", NULL},
                 "uid_map and gid_map need \"ns user\"");
    expect_error((const char *[]){"arg", "x", "ns", "user", "uid_map", "0 1000", NULL},
                 "uid_map: expected \"INSIDE OUTSIDE COUNT\"");
    expect_error((const char *[]){"arg", "x", "ns", "user", "uid_map", "0 1000 0", NULL},
                 "uid_map: expected \"INSIDE OUTSIDE COUNT\"");
    expect_error((const char *[]){"arg", "x", "ns", "net", "net_veth", "v0", NULL}, "go together");
    expect_error((const char *[]){"arg", "x", "net_veth", "a-name-too-long-for-ifnamsiz", NULL},
                 "net_veth: not an interface name");
    expect_error((const char *[]){"arg", "x", "net_join", "123", NULL}, "net_join: expected");
    expect_error((const char *[]){"arg", "x", "net_join", "1 5", NULL}, "net_join: expected");
    expect_error((const char *[]){"arg", "x", "net_join", "12 x", NULL}, "net_join: expected");
    expect_error((const char *[]){"arg", "x", "net_join", "12 34", "net_join", "12 34", NULL}, "given twice");
    expect_error((const char *[]){"arg", "x", "ns", "net", "net_join", "12 34", NULL},
                 "net_join joins another container's network namespace");
    CHECK(parse_records((const char *[]){"arg", "x", "ns", "uts", "net_join", "12 34", NULL}) == NULL &&
              cfg.net_join_init == 12 && cfg.net_join_monitor == 34 && !(cfg.clone_flags & CLONE_NEWNET),
          "net_join parsed");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "rootfs", "/r", "overlay_upper", "/u", "overlay_work",
                                  "/w", NULL},
                 "overlay_upper and overlay_work need overlay_lower");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "rootfs", "/r", "overlay_lower", "/l", "overlay_upper",
                                  "/u", NULL},
                 "overlay_upper and overlay_work go together");
    expect_error((const char *[]){"arg", "x", "ns", "mount", "rootfs", "/r", "host_root", "1", "overlay_lower",
                                  "/l", NULL},
                 "host_root needs rootfs (the mount point) and no overlay");
    expect_error((const char *[]){"arg", "x", "log_max_files", "0", NULL}, "log_max_files: must be at least 1");
    expect_error((const char *[]){"arg", "x", "groups", "1", "groups", "2", NULL}, "groups: given more than once");
    expect_error((const char *[]){"arg", NULL}, "key \"arg\" has no value");
    expect_error((const char *[]){"arg", "x", "rlimit", "bogus 1 2", NULL}, "rlimit: unknown resource \"bogus\"");
    expect_error((const char *[]){"arg", "x", "rlimit", "nofile 5 4", NULL}, "the soft limit is over the hard one");
    expect_error((const char *[]){"arg", "x", "rlimit", "nofile 5", NULL}, "rlimit: expected \"NAME SOFT HARD\"");
    expect_error((const char *[]){"arg", "x", "rlimit", "nofile 5 x", NULL}, "rlimit: not a number");
    expect_error((const char *[]){"arg", "x", "rlimit", "nofile 1 2", "rlimit", "nofile 3 4", NULL},
                 "rlimit: nofile given more than once");
    expect_error((const char *[]){"arg", "x", "user", ":grp", NULL}, "user: expected USER[:GROUP]");
    expect_error((const char *[]){"arg", "x", "user", "a", "user", "b", NULL}, "user: given more than once");

    /* A last record without its NUL. */
    int fd = open(config_path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    write_all(fd, "arg\0/bin/true", 13);
    close(fd);
    memset(&cfg, 0, sizeof cfg);
    const char *err = NULL;
    if (setjmp(on_fail))
        err = fail_text;
    else
        parse_config(config_path);
    CHECK(err && strstr(err, "truncated"), "a config without its last NUL is refused: %s", err ? err : "accepted");

    memset(&cfg, 0, sizeof cfg);
    err = NULL;
    if (setjmp(on_fail))
        err = fail_text;
    else
        parse_config("/nonexistent/corral-shim-config");
    CHECK(err && strstr(err, "read config /nonexistent/corral-shim-config: No such file"), "missing file: %s",
          err ? err : "accepted");
}

/* ------------------------------------------------------------------------------------------------ */
/* Device programs                                                                                   */

/* Runs prog on the context the kernel passes (struct bpf_cgroup_dev_ctx); returns r0, or -1 on an
 * instruction this interpreter does not know or a jump out of the program (both a builder bug). */
static long run_prog(const struct bpf_insn *prog, size_t len, int type, int access, uint32_t major, uint32_t minor)
{
    uint32_t ctx[3] = {(uint32_t)access << 16 | (uint32_t)type, major, minor};
    uint64_t r[11] = {0};
    size_t pc = 0;
    for (int steps = 0; steps < 100000; steps++) {
        if (pc >= len)
            return -1;
        const struct bpf_insn *i = &prog[pc++];
        uint64_t imm = (uint64_t)(int64_t)i->imm;
        switch (i->code) {
        case BPF_LDX | BPF_W | BPF_MEM:
            if (i->src_reg != BPF_REG_1 || i->off < 0 || i->off > 8 || i->off % 4)
                return -1;
            r[i->dst_reg] = ctx[i->off / 4];
            break;
        case BPF_ALU | BPF_AND | BPF_K:
            r[i->dst_reg] = (uint32_t)(r[i->dst_reg] & imm);
            break;
        case BPF_ALU | BPF_RSH | BPF_K:
            r[i->dst_reg] = (uint32_t)r[i->dst_reg] >> i->imm;
            break;
        case BPF_ALU | BPF_MOV | BPF_X:
            r[i->dst_reg] = (uint32_t)r[i->src_reg];
            break;
        case BPF_ALU64 | BPF_MOV | BPF_K:
            r[i->dst_reg] = imm;
            break;
        case BPF_JMP | BPF_JNE | BPF_K:
            if (r[i->dst_reg] != imm)
                pc += (size_t)(long)i->off;
            break;
        case BPF_JMP | BPF_JNE | BPF_X:
            if (r[i->dst_reg] != r[i->src_reg])
                pc += (size_t)(long)i->off;
            break;
        case BPF_JMP | BPF_EXIT:
            return (long)r[0];
        default:
            return -1;
        }
    }
    return -1;
}

static struct bpf_insn prog[DEVF_MAX_INSNS];
static size_t prog_len;

static void build(const char *const *rules)
{
    static struct dev_rule parsed[DEVF_MAX_RULES];
    size_t n = 0;
    for (; rules[n]; n++)
        CHECK(parse_dev_rule(rules[n], &parsed[n]) == 0, "rule \"%s\" refused", rules[n]);
    prog_len = devf_build(parsed, n, prog);
    CHECK(prog_len <= DEVF_MAX_INSNS, "program length %zu", prog_len);
}

#define R BPF_DEVCG_ACC_READ
#define W BPF_DEVCG_ACC_WRITE
#define M BPF_DEVCG_ACC_MKNOD
#define C BPF_DEVCG_DEV_CHAR
#define B BPF_DEVCG_DEV_BLOCK

static void expect(int type, int access, uint32_t major, uint32_t minor, long want, const char *what)
{
    long got = run_prog(prog, prog_len, type, access, major, minor);
    CHECK(got == want, "%s: %c %u:%u access %d: got %ld, want %ld", what, type == C ? 'c' : 'b', major, minor,
          access, got, want);
}

static void test_dev_rule_parsing(void)
{
    struct dev_rule r;
    CHECK(parse_dev_rule("c 1:3 rwm", &r) == 0 && r.type == C && r.major == 1 && r.minor == 3 &&
              r.access == (R | W | M),
          "c 1:3 rwm");
    CHECK(parse_dev_rule("b *:* m", &r) == 0 && r.type == B && r.major == -1 && r.minor == -1 && r.access == M,
          "b *:* m");
    CHECK(parse_dev_rule("a 136:* r", &r) == 0 && r.type == 0 && r.major == 136 && r.minor == -1, "a 136:* r");
    const char *bad[] = {"", "x 1:3 r", "c1:3 r", "c 1:3", "c 1:3 ", "c 1 r", "c 1:3 rr", "c 1:3 rx",
                         "c -1:3 r", "c 1:3:4 r", "c 2147483648:0 r", "c 1:3  r", NULL};
    for (size_t i = 0; bad[i]; i++)
        CHECK(parse_dev_rule(bad[i], &r) < 0, "\"%s\" accepted", bad[i]);
    char msg[MSG_MAX];
    char *texts[] = {"c 1:3 rwm", "c 1:3 q"};
    CHECK(devf_load(texts, 2, msg, sizeof msg) < 0 && strstr(msg, "device rule \"c 1:3 q\""),
          "a bad rule is named before any load: %s", msg);
}

static void test_dev_programs(void)
{
    build((const char *[]){NULL});
    expect(C, R, 1, 3, 0, "no rules deny everything");

    /* DeviceRules.DEFAULT */
    build((const char *[]){"c *:* m", "b *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                           "c 5:0 rwm", "c 5:1 rwm", "c 5:2 rwm", "c 136:* rwm", "c 10:200 rwm", NULL});
    expect(C, R | W, 1, 3, 1, "/dev/null read-write");
    expect(C, M, 1, 3, 1, "mknod /dev/null");
    expect(B, R, 1, 3, 0, "a block device with /dev/null's numbers");
    expect(C, R, 1, 1, 0, "/dev/mem");
    expect(C, M, 8, 0, 1, "mknod any char device");
    expect(B, M, 254, 0, 1, "mknod any block device");
    expect(B, R, 254, 0, 0, "read the host's disk");
    expect(B, M | R, 254, 0, 0, "mknod and read the host's disk");
    expect(C, R | W, 136, 7, 1, "a pts");
    expect(C, R | W, 137, 7, 0, "not a pts");
    expect(C, W, 10, 200, 1, "tun");
    expect(C, W, 10, 229, 0, "fuse");

    build((const char *[]){"b 8:0 r", NULL});
    expect(B, R, 8, 0, 1, "read allowed");
    expect(B, W, 8, 0, 0, "write denied");
    expect(B, R | W, 8, 0, 0, "read-write needs both");
    expect(B, R, 8, 1, 0, "another minor");
    expect(C, R, 8, 0, 0, "a char device");

    build((const char *[]){"a *:* rwm", NULL});
    expect(C, R | W | M, 4242, 17, 1, "a *:* allows all");
    expect(B, W, 0, 0, 1, "a *:* allows all block");

    /* The largest program the shim builds stays inside its buffer and every jump inside the program. */
    static const char *many[DEVF_MAX_RULES + 1];
    static char text[DEVF_MAX_RULES][32];
    for (int i = 0; i < DEVF_MAX_RULES; i++) {
        snprintf(text[i], sizeof text[i], "b %d:%d r", 1000 + i, i);
        many[i] = text[i];
    }
    build(many);
    expect(B, R, 1000 + DEVF_MAX_RULES - 1, DEVF_MAX_RULES - 1, 1, "the last of 256 rules");
    expect(B, W, 1000, 0, 0, "write against 256 read rules");
}

int main(void)
{
    int fd = mkstemp(config_path);
    if (fd < 0) {
        perror("mkstemp");
        return 2;
    }
    close(fd);
    fail_hook = catch_failure;
    test_config_defaults();
    test_config_full();
    test_config_rlimits_and_user();
    test_config_errors();
    test_dev_rule_parsing();
    test_dev_programs();
    unlink(config_path);
    printf("corral-shim unit tests: %d checks, %d failed\n", checks, failures);
    return failures ? 1 : 0;
}
