package dev.corral.agent.network;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import jnr.ffi.LastError;
import jnr.ffi.LibraryLoader;
import jnr.ffi.Runtime;
import jnr.ffi.types.size_t;
import jnr.ffi.types.ssize_t;

/**
 * Adds and deletes the elements of the agent's published-port maps ({@link NatRules}) with one nftables netlink
 * transaction from the agent itself: no {@code nft} process on a launch or a removal. An {@code nft -f -} costs
 * 15 ms of CPU here when the machine is quiet (a process, libnftables' start, its cache) and hundreds of
 * milliseconds under load; this costs one socket, one send and the kernel's acknowledgements.
 *
 * <p>The elements are those {@code nft add element inet T published_ip { 127.0.0.1 . tcp . 8080 : 10.0.0.2 . 80 }}
 * writes (checked against nft's own in {@code NatRulesTest}): every field of a concatenation in a 4-byte register,
 * addresses and ports in network order.
 */
final class NftMaps {

    static final String BY_ADDRESS = "published_ip";
    static final String ANY_ADDRESS = "published_any";

    private static final int AF_NETLINK = 16;
    private static final int SOCK_RAW = 3;
    private static final int SOCK_CLOEXEC = 0x80000;
    private static final int NETLINK_NETFILTER = 12;
    private static final int SOL_SOCKET = 1;
    private static final int SO_RCVTIMEO = 20;
    private static final int NLMSG_ERROR = 2;
    private static final int NLM_F_REQUEST = 1;
    private static final int NLM_F_ACK = 4;
    private static final int NLM_F_CREATE = 0x400;
    private static final int NFNL_MSG_BATCH_BEGIN = 16;
    private static final int NFNL_MSG_BATCH_END = 17;
    private static final int NFNL_SUBSYS_NFTABLES = 10;
    private static final int NFT_MSG_NEWSETELEM = 12;
    private static final int NFT_MSG_DELSETELEM = 14;
    private static final int NFPROTO_INET = 1;
    private static final int NLA_F_NESTED = 0x8000;
    private static final int NFTA_SET_ELEM_LIST_TABLE = 1;
    private static final int NFTA_SET_ELEM_LIST_SET = 2;
    private static final int NFTA_SET_ELEM_LIST_ELEMENTS = 3;
    private static final int NFTA_LIST_ELEM = 1;
    private static final int NFTA_SET_ELEM_KEY = 1;
    private static final int NFTA_SET_ELEM_DATA = 2;
    private static final int NFTA_DATA_VALUE = 1;

    /** The libc calls for a netlink socket (the JDK has no AF_NETLINK). */
    public interface Libc {
        int socket(int domain, int type, int protocol);

        int setsockopt(int fd, int level, int name, byte[] value, int length);

        @ssize_t long send(int fd, byte[] buf, @size_t long length, int flags);

        @ssize_t long recv(int fd, byte[] buf, @size_t long length, int flags);

        int close(int fd);
    }

    private static final class Holder {
        static final Libc LIBC = LibraryLoader.create(Libc.class).load("c");
    }

    private NftMaps() {
    }

    /** Adds the container's published ports to the maps of table {@code inet table}; an IOException when refused. */
    static void add(String table, Attachment a) throws IOException {
        transact(table, a, true);
    }

    /** Deletes them; an IOException when refused (an element not there: ENOENT). */
    static void delete(String table, Attachment a) throws IOException {
        transact(table, a, false);
    }

    private static void transact(String table, Attachment a, boolean add) throws IOException {
        Batch b = new Batch();
        b.header(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        int acks = 0;
        for (String map : List.of(BY_ADDRESS, ANY_ADDRESS)) {
            List<Attachment.Published> ports = a.ports().stream()
                    .filter(p -> (p.hostIp() == null) == map.equals(ANY_ADDRESS)).toList();
            if (ports.isEmpty()) {
                continue;
            }
            int type = NFNL_SUBSYS_NFTABLES << 8 | (add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM);
            int start = b.header(type, NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE : 0), NFPROTO_INET, 0);
            b.string(NFTA_SET_ELEM_LIST_TABLE, table);
            b.string(NFTA_SET_ELEM_LIST_SET, map);
            int elements = b.nest(NFTA_SET_ELEM_LIST_ELEMENTS);
            for (Attachment.Published p : ports) {
                int element = b.nest(NFTA_LIST_ELEM);
                int k = b.nest(NFTA_SET_ELEM_KEY);
                b.attr(NFTA_DATA_VALUE, key(p));
                b.end(k);
                if (add) {
                    int d = b.nest(NFTA_SET_ELEM_DATA);
                    b.attr(NFTA_DATA_VALUE, data(a.address(), p.containerPort()));
                    b.end(d);
                }
                b.end(element);
            }
            b.end(elements);
            b.endMessage(start);
            acks++;
        }
        if (acks == 0) {
            return;
        }
        b.header(NFNL_MSG_BATCH_END, NLM_F_REQUEST, 0, NFNL_SUBSYS_NFTABLES);
        send(b, acks, (add ? "adding " : "deleting ") + a.ports() + " in inet " + table);
    }

    /** The key: [host address .] protocol . host port. */
    static byte[] key(Attachment.Published p) {
        ByteBuffer k = ByteBuffer.allocate(p.hostIp() == null ? 8 : 12).order(ByteOrder.BIG_ENDIAN);
        if (p.hostIp() != null) {
            k.putInt(Subnet.parseIp(p.hostIp()));
        }
        k.put((byte) (p.protocol().equals("udp") ? 17 : 6)).put((byte) 0).putShort((short) 0);
        k.putShort((short) p.hostPort()).putShort((short) 0);
        return k.array();
    }

    /** The value: container address . container port. */
    static byte[] data(String address, int port) {
        return ByteBuffer.allocate(8).order(ByteOrder.BIG_ENDIAN).putInt(Subnet.parseIp(address))
                .putShort((short) port).putShort((short) 0).array();
    }

    private static void send(Batch b, int acks, String what) throws IOException {
        Libc libc = Holder.LIBC;
        int fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
        if (fd < 0) {
            throw new IOException(what + ": netlink socket: errno " + errno(libc));
        }
        try {
            byte[] timeout = ByteBuffer.allocate(16).order(ByteOrder.nativeOrder()).putLong(5).putLong(0).array();
            libc.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, timeout, timeout.length);
            byte[] msg = b.bytes();
            if (libc.send(fd, msg, msg.length, 0) != msg.length) {
                throw new IOException(what + ": netlink send: errno " + errno(libc));
            }
            byte[] buf = new byte[8192];
            while (acks > 0) {
                long n = libc.recv(fd, buf, buf.length, 0);
                if (n < 0) {
                    throw new IOException(what + ": no answer from the kernel (errno " + errno(libc) + ")");
                }
                ByteBuffer in = ByteBuffer.wrap(buf, 0, (int) n).order(ByteOrder.nativeOrder());
                while (in.remaining() >= 16) {
                    int at = in.position();
                    int len = in.getInt(at);
                    int type = in.getShort(at + 4) & 0xffff;
                    if (len < 16 || len > in.remaining()) {
                        break;
                    }
                    if (type == NLMSG_ERROR) {
                        int error = in.getInt(at + 16);
                        if (error != 0) {
                            throw new IOException(what + ": " + errnoName(-error));
                        }
                        acks--;
                    }
                    in.position(at + ((len + 3) & ~3));
                }
            }
        } finally {
            libc.close(fd);
        }
    }

    private static int errno(Libc libc) {
        return LastError.getLastError(Runtime.getRuntime(libc));
    }

    private static String errnoName(int errno) {
        return switch (errno) {
            case 2 -> "ENOENT (no such table, map or element)";
            case 16 -> "EBUSY (the element is there with another value)";
            case 17 -> "EEXIST";
            case 1 -> "EPERM";
            default -> "errno " + errno;
        };
    }

    /** Netlink messages in native byte order, attributes 4-byte aligned. */
    private static final class Batch {
        private ByteBuffer buf = ByteBuffer.allocate(1024).order(ByteOrder.nativeOrder());
        private int seq;

        /** nlmsghdr + nfgenmsg; returns the message's start (for {@link #endMessage}). */
        int header(int type, int flags, int family, int resId) {
            int start = buf.position();
            room(20);
            buf.putInt(20).putShort((short) type).putShort((short) flags).putInt(seq++).putInt(0);
            buf.put((byte) family).put((byte) 0).order(ByteOrder.BIG_ENDIAN).putShort((short) resId)
                    .order(ByteOrder.nativeOrder());
            return start;
        }

        void endMessage(int start) {
            buf.putInt(start, buf.position() - start);
        }

        void attr(int type, byte[] value) {
            int len = 4 + value.length;
            room(len + 3);
            buf.putShort((short) len).putShort((short) type).put(value);
            pad();
        }

        void string(int type, String value) {
            byte[] s = value.getBytes(StandardCharsets.UTF_8);
            byte[] z = new byte[s.length + 1];
            System.arraycopy(s, 0, z, 0, s.length);
            attr(type, z);
        }

        int nest(int type) {
            room(4);
            int start = buf.position();
            buf.putShort((short) 0).putShort((short) (type | NLA_F_NESTED));
            return start;
        }

        void end(int start) {
            buf.putShort(start, (short) (buf.position() - start));
        }

        private void pad() {
            while ((buf.position() & 3) != 0) {
                buf.put((byte) 0);
            }
        }

        private void room(int n) {
            if (buf.remaining() < n + 8) {
                ByteBuffer bigger = ByteBuffer.allocate(buf.capacity() * 2 + n).order(ByteOrder.nativeOrder());
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
        }

        byte[] bytes() {
            byte[] out = new byte[buf.position()];
            buf.duplicate().flip().get(out);
            return out;
        }
    }
}
