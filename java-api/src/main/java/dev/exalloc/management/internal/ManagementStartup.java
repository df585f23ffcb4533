package dev.exalloc.management.internal;

import dev.exalloc.internal.StartupExtension;
import dev.exalloc.management.ExallocManagement;

/**
 * Registers the MXBeans when the pool or a lookaside list is first used, if the system property
 * {@value ExallocManagement#PROPERTY} is true. Found by the core through {@link java.util.ServiceLoader}, so that the
 * core package does not depend on the management package (nor on java.management). Not exported: applications
 * call {@link ExallocManagement#register()}.
 */
public final class ManagementStartup implements StartupExtension {

    /** For the service loader. */
    public ManagementStartup() {
    }

    @Override
    public void start() {
        if (Boolean.getBoolean(ExallocManagement.PROPERTY)) {
            ExallocManagement.register();
        }
    }
}
