package dev.corral.agent.client;

import dev.corral.agent.spec.ContainerSpec;
import dev.corral.exporter.sample.ByteSizes;
import dev.corral.exporter.sample.Limits;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import picocli.CommandLine.Option;

/**
 * The resource flags of {@code run} and {@code update}, with docker's meanings, converted to a spec's
 * {@code limits}. Sizes are checked when parsed (a bad one is a usage error); ranges are the daemon's to check.
 */
public final class LimitOptions {

    @Option(names = {"-m", "--memory"}, paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Memory limit, e.g. 256m, 1g (at least 6m).")
    Long memory;

    @Option(names = "--memory-reservation", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "Memory soft limit (v1 soft_limit_in_bytes, v2 memory.low).")
    Long memoryReservation;

    @Option(names = "--memory-swap", paramLabel = "SIZE", converter = SizeConverter.class,
            description = "As docker: memory PLUS swap; equal to --memory for no swap, -1 for unlimited swap.")
    Long memorySwap;

    @Option(names = "--cpus", paramLabel = "N", description = "Number of CPUs, e.g. 1.5 (a CFS quota).")
    Double cpus;

    @Option(names = "--cpu-period", paramLabel = "MICROS", description = "CFS period in microseconds.")
    Long cpuPeriod;

    @Option(names = "--cpu-quota", paramLabel = "MICROS", description = "CFS quota in microseconds (-1: none).")
    Long cpuQuota;

    @Option(names = "--cpu-shares", paramLabel = "N", description = "Relative CPU weight (v1 scale, 2-262144; default 1024).")
    Long cpuShares;

    @Option(names = "--cpuset-cpus", paramLabel = "LIST", description = "CPUs allowed, e.g. 0-3,5.")
    String cpusetCpus;

    @Option(names = "--cpuset-mems", paramLabel = "LIST", description = "Memory nodes allowed, e.g. 0.")
    String cpusetMems;

    @Option(names = "--pids-limit", paramLabel = "N", description = "Maximum number of processes (-1: unlimited).")
    Long pidsLimit;

    @Option(names = "--blkio-weight", paramLabel = "N", description = "Relative block IO weight, 10-1000 (0: none).")
    Long blkioWeight;

    @Option(names = "--device-read-bps", paramLabel = "DEVICE:RATE", description = "Read bytes/s limit, e.g. /dev/vda:5m.")
    List<String> deviceReadBps = new ArrayList<>();

    @Option(names = "--device-write-bps", paramLabel = "DEVICE:RATE", description = "Write bytes/s limit, e.g. /dev/vda:5m.")
    List<String> deviceWriteBps = new ArrayList<>();

    @Option(names = "--device-read-iops", paramLabel = "DEVICE:N", description = "Read IO/s limit, e.g. /dev/vda:1000.")
    List<String> deviceReadIops = new ArrayList<>();

    @Option(names = "--device-write-iops", paramLabel = "DEVICE:N", description = "Write IO/s limit, e.g. /dev/vda:1000.")
    List<String> deviceWriteIops = new ArrayList<>();

    @Option(names = "--network-rate", paramLabel = "RATE", converter = NetworkRateConverter.class,
            description = "Network rate each way on a bridge network, e.g. 500kbit, 10mbit, 1gbit (max: none).")
    Long networkRate;

    @Option(names = "--network-rate-egress", paramLabel = "RATE", converter = NetworkRateConverter.class,
            description = "Rate of what the container sends (overrides --network-rate that way).")
    Long networkRateEgress;

    @Option(names = "--network-rate-ingress", paramLabel = "RATE", converter = NetworkRateConverter.class,
            description = "Rate of what the container receives (overrides --network-rate that way).")
    Long networkRateIngress;

    public boolean isEmpty() {
        return memory == null && memoryReservation == null && memorySwap == null && cpus == null && cpuPeriod == null
                && cpuQuota == null && cpuShares == null && cpusetCpus == null && cpusetMems == null
                && pidsLimit == null && blkioWeight == null && deviceReadBps.isEmpty() && deviceWriteBps.isEmpty()
                && deviceReadIops.isEmpty() && deviceWriteIops.isEmpty() && networkRate() == null;
    }

    /** Whether converting needs the container's current memory limit (update --memory-swap without --memory). */
    boolean needsCurrentMemory() {
        return memorySwap != null && memory == null && !Limits.isUnlimited(memorySwap);
    }

    /**
     * @param currentMemoryMax the container's memory limit when --memory is absent (update), or null
     * @param usage            makes the usage error (exit 2) for a message
     * @return the limits, or null when no flag was given
     */
    ContainerSpec.Limits toLimits(Long currentMemoryMax, Function<String, RuntimeException> usage) {
        ContainerSpec.Memory mem = null;
        Long swap = swapBeyondMax(memory != null ? memory : currentMemoryMax, memorySwap, usage);
        if (memory != null || memoryReservation != null || swap != null) {
            mem = new ContainerSpec.Memory(memory, null, swap, memoryReservation);
        }
        ContainerSpec.Cpu cpu = null;
        if (cpus != null || cpuPeriod != null || cpuQuota != null || cpuShares != null || cpusetCpus != null
                || cpusetMems != null) {
            if (cpus != null && (cpus.isNaN() || cpus.isInfinite() || cpus <= 0)) {
                throw usage.apply("--cpus must be a number above 0, e.g. 0.5 or 2");
            }
            cpu = new ContainerSpec.Cpu(cpus, cpuQuota, cpuPeriod, cpuShares, null, cpusetCpus, cpusetMems);
        }
        ContainerSpec.Io io = null;
        List<ContainerSpec.IoDevice> devices = devices(usage);
        Long weight = blkioWeight == null || blkioWeight == 0 ? null : blkioWeight;
        if (weight != null || !devices.isEmpty()) {
            io = new ContainerSpec.Io(weight, devices.isEmpty() ? null : devices);
        }
        ContainerSpec.Pids pids = pidsLimit == null ? null : new ContainerSpec.Pids(pidsLimit <= 0 ? -1 : pidsLimit);
        ContainerSpec.NetworkRate net = networkRate();
        if (mem == null && cpu == null && io == null && pids == null && net == null) {
            return null;
        }
        return new ContainerSpec.Limits(mem, cpu, io, pids, net);
    }

    private ContainerSpec.NetworkRate networkRate() {
        Long egress = networkRateEgress != null ? networkRateEgress : networkRate;
        Long ingress = networkRateIngress != null ? networkRateIngress : networkRate;
        return egress == null && ingress == null ? null : new ContainerSpec.NetworkRate(egress, ingress);
    }

    /**
     * Docker's --memory-swap is the total of memory and swap; the spec's swap is what is allowed beyond max.
     * -1 (or max) is unlimited swap; equal to the memory limit is no swap; less is an error, as in docker.
     */
    static Long swapBeyondMax(Long memory, Long memorySwap, Function<String, RuntimeException> usage) {
        if (memorySwap == null) {
            return null;
        }
        if (Limits.isUnlimited(memorySwap)) {
            return Limits.UNLIMITED;
        }
        if (memory == null || Limits.isUnlimited(memory)) {
            throw usage.apply("--memory-swap is memory plus swap, so it needs a --memory limit (or -1 for "
                    + "unlimited swap)");
        }
        if (memorySwap < memory) {
            throw usage.apply("--memory-swap (memory plus swap) must be at least --memory");
        }
        return memorySwap - memory;
    }

    private List<ContainerSpec.IoDevice> devices(Function<String, RuntimeException> usage) {
        Map<String, Long[]> byDevice = new LinkedHashMap<>();
        collect("--device-read-bps", deviceReadBps, 0, true, byDevice, usage);
        collect("--device-write-bps", deviceWriteBps, 1, true, byDevice, usage);
        collect("--device-read-iops", deviceReadIops, 2, false, byDevice, usage);
        collect("--device-write-iops", deviceWriteIops, 3, false, byDevice, usage);
        List<ContainerSpec.IoDevice> out = new ArrayList<>();
        byDevice.forEach((device, r) -> out.add(new ContainerSpec.IoDevice(device, r[0], r[1], r[2], r[3])));
        return out;
    }

    private static void collect(String flag, List<String> values, int slot, boolean bytes, Map<String, Long[]> out,
                                Function<String, RuntimeException> usage) {
        for (String value : values) {
            int colon = value.lastIndexOf(':');
            if (colon <= 0 || colon == value.length() - 1) {
                throw usage.apply(flag + ": '" + value + "' is not DEVICE:" + (bytes ? "RATE (e.g. /dev/vda:5m)"
                        : "N (e.g. /dev/vda:1000)"));
            }
            String device = value.substring(0, colon);
            String rate = value.substring(colon + 1);
            long n;
            if (bytes) {
                try {
                    n = ByteSizes.parseLimit(rate);
                } catch (IllegalArgumentException e) {
                    throw usage.apply(flag + ": " + e.getMessage());
                }
            } else if (rate.equalsIgnoreCase("max") || rate.equals("-1")) {
                n = Limits.UNLIMITED;
            } else {
                try {
                    n = Long.parseLong(rate);
                } catch (NumberFormatException e) {
                    n = -1;
                }
                if (n < 1) {
                    throw usage.apply(flag + ": '" + rate + "' is not a number of operations per second");
                }
            }
            if (n < 1) {
                throw usage.apply(flag + ": the rate must be at least 1 byte per second");
            }
            out.computeIfAbsent(device, d -> new Long[4])[slot] = n;
        }
    }
}
