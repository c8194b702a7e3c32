package dev.corral.agent.network;

/** An IPv4 subnet such as 10.89.0.0/16; addresses as ints. */
public record Subnet(int base, int prefix) {

    public Subnet {
        if (prefix < 8 || prefix > 30) {
            throw new IllegalArgumentException("prefix must be 8..30, not " + prefix);
        }
        base &= mask(prefix);
    }

    /** "a.b.c.d/n"; host bits are cleared. */
    public static Subnet parse(String cidr) {
        int slash = cidr.indexOf('/');
        if (slash < 0) {
            throw new IllegalArgumentException("expected ADDRESS/PREFIX, e.g. 10.89.0.0/16, not '" + cidr + "'");
        }
        int prefix;
        try {
            prefix = Integer.parseInt(cidr.substring(slash + 1));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("not a prefix length: '" + cidr.substring(slash + 1) + "'");
        }
        return new Subnet(parseIp(cidr.substring(0, slash)), prefix);
    }

    public static int parseIp(String ip) {
        String[] parts = ip.split("\\.", -1);
        if (parts.length != 4) {
            throw new IllegalArgumentException("not an IPv4 address: '" + ip + "'");
        }
        int v = 0;
        for (String p : parts) {
            int b;
            try {
                b = p.isEmpty() || p.length() > 3 ? -1 : Integer.parseInt(p);
            } catch (NumberFormatException e) {
                b = -1;
            }
            if (b < 0 || b > 255) {
                throw new IllegalArgumentException("not an IPv4 address: '" + ip + "'");
            }
            v = v << 8 | b;
        }
        return v;
    }

    public static String ip(int a) {
        return (a >>> 24) + "." + (a >>> 16 & 255) + "." + (a >>> 8 & 255) + "." + (a & 255);
    }

    static int mask(int prefix) {
        return (int) (0xffffffffL << (32 - prefix));
    }

    public boolean contains(int address) {
        return (address & mask(prefix)) == base;
    }

    public boolean overlaps(Subnet o) {
        int p = Math.min(prefix, o.prefix);
        return (base & mask(p)) == (o.base & mask(p));
    }

    /** The bridge's own address: the first one. */
    public int gateway() {
        return base + 1;
    }

    /** The first and last addresses containers get (the gateway and the broadcast address excluded). */
    public int firstHost() {
        return base + 2;
    }

    public int lastHost() {
        return (base | ~mask(prefix)) - 1;
    }

    @Override
    public String toString() {
        return ip(base) + "/" + prefix;
    }
}
