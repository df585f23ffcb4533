package dev.exalloc;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The extended parameters of ExAllocatePool3 ({@link Pool#allocate(long, Tag, PoolFlags, PoolParameters)}): an
 * immutable list of POOL_EXTENDED_PARAMETER records. Each is required unless marked optional: a required parameter
 * the pool cannot honour fails the request (null, or {@link InvalidArgumentException} with
 * {@link PoolFlags#raiseOnFailure()}); an optional one is then ignored.
 *
 * <pre>{@code
 * PoolParameters p = PoolParameters.none().priority(PoolPriority.LOW).numaNode(0, true);
 * }</pre>
 */
public final class PoolParameters {

    /** POOL_EXTENDED_PARAMETER_TYPE values. */
    public static final int TYPE_INVALID = 0;
    /** PoolExtendedParameterPriority: the value is a {@link PoolPriority} code. */
    public static final int TYPE_PRIORITY = 1;
    /** PoolExtendedParameterSecurePool: NT's secure pools, which exalloc does not have. */
    public static final int TYPE_SECURE_POOL = 2;
    /** PoolExtendedParameterNumaNode: the value is a node number, with {@link #ANY_NODE_OK} allowed. */
    public static final int TYPE_NUMA_NODE = 3;

    /** MM_ANY_NODE_OK: bit 31 of a node value, another node will do. */
    public static final int ANY_NODE_OK = 0x8000_0000;

    /**
     * One POOL_EXTENDED_PARAMETER.
     *
     * @param type     a POOL_EXTENDED_PARAMETER_TYPE
     * @param optional true: ignore the parameter when it cannot be honoured
     * @param value    the priority, or the node (| {@link #ANY_NODE_OK}); the low 32 bits are used
     */
    public record Parameter(int type, boolean optional, long value) {
    }

    private static final PoolParameters NONE = new PoolParameters(List.of());

    private final List<Parameter> parameters;

    private PoolParameters(List<Parameter> parameters) {
        this.parameters = parameters;
    }

    /**
     * No parameters (ExAllocatePool3 with a count of 0 is ExAllocatePool2).
     *
     * @return the empty list
     */
    public static PoolParameters none() {
        return NONE;
    }

    private PoolParameters with(Parameter p) {
        List<Parameter> next = new ArrayList<>(parameters);
        next.add(p);
        return new PoolParameters(List.copyOf(next));
    }

    /**
     * PoolExtendedParameterPriority, required.
     *
     * @param priority the priority
     * @return these parameters with the priority added
     */
    public PoolParameters priority(PoolPriority priority) {
        return with(new Parameter(TYPE_PRIORITY, false, Objects.requireNonNull(priority).code()));
    }

    /**
     * PoolExtendedParameterNumaNode, required: non-paged pool only, from {@code node}, or from another node when
     * {@code anyNodeOk} (MM_ANY_NODE_OK). A node the host does not have fails the request unless {@code anyNodeOk}.
     *
     * @param node      the NUMA node
     * @param anyNodeOk whether another node will do
     * @return these parameters with the node added
     */
    public PoolParameters numaNode(int node, boolean anyNodeOk) {
        if (node < 0) {
            throw new IllegalArgumentException("NUMA node must be >= 0: " + node);
        }
        return with(new Parameter(TYPE_NUMA_NODE, false, Integer.toUnsignedLong(node | (anyNodeOk ? ANY_NODE_OK : 0))));
    }

    /**
     * Any parameter, as C code would pass it (invalid ones included: the pool rejects them unless optional).
     *
     * @param type     a TYPE_* value
     * @param optional true when the pool may ignore it
     * @param value    the parameter's value
     * @return these parameters with that one added
     */
    public PoolParameters raw(int type, boolean optional, long value) {
        return with(new Parameter(type, optional, value));
    }

    /**
     * The parameters in order.
     *
     * @return an immutable list
     */
    public List<Parameter> parameters() {
        return parameters;
    }

    /**
     * The number of parameters.
     *
     * @return the count (ExAllocatePool3's ExtendedParametersCount)
     */
    public int size() {
        return parameters.size();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PoolParameters p && p.parameters.equals(parameters);
    }

    @Override
    public int hashCode() {
        return parameters.hashCode();
    }

    @Override
    public String toString() {
        return "PoolParameters" + parameters;
    }
}
