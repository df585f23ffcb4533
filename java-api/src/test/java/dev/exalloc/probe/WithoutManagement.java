package dev.exalloc.probe;

import dev.exalloc.Lookaside;
import dev.exalloc.Pool;
import dev.exalloc.PoolType;
import dev.exalloc.Tag;
import java.lang.foreign.MemorySegment;

/**
 * A child JVM's main for {@code dev.exalloc.WithoutManagementTest}: uses the pool and a lookaside list with module
 * dev.exalloc on the module path and java.management left out of the boot layer. In a package of its own, because
 * the class path cannot add classes to a package of the named module.
 */
public final class WithoutManagement {

    private WithoutManagement() {
    }

    public static void main(String[] args) {
        System.out.println("named=" + Pool.class.getModule().isNamed());
        System.out.println("java.management=" + ModuleLayer.boot().findModule("java.management").isPresent());
        Tag tag = Tag.of("NoMg");
        MemorySegment b = Pool.allocate(PoolType.PAGED, 64, tag);
        Pool.free(b, tag);
        try (Lookaside list = Lookaside.builder(64).tag(tag).build()) {
            list.free(list.allocate());
            System.out.println("lists=" + Lookaside.all().size());
        }
    }
}
