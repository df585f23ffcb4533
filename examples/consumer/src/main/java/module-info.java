/** The example as a named module: on the module path it reads dev.exalloc like any other module. */
module example.consumer {
    requires dev.exalloc;
}
