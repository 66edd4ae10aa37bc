/**
 * What `box image inspect` (and `box inspect IMAGE`) prints: docker's image-inspect document.
 */
import type { Layout } from "../store/layout";
import { BoxError } from "../errors";
import type { RunConfig } from "./config";
import { familiar } from "./reference";
import { findImage, imageSize, namesOf, peekStore, type StoredImage, type StorePaths } from "./store";
import { layerDiff } from "./store/paths";

export interface ImageInspect {
  Id: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Author: string;
  Config: DockerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  Size: number;
  GraphDriver: { Name: string; Data: { LowerDir: string } };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
}

/** docker's Config block: every field present, as docker prints it. */
export interface DockerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
}

export function dockerConfig(c: RunConfig): DockerConfig {
  return {
    Hostname: "",
    Domainname: "",
    User: c.User ?? "",
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    ...(c.ExposedPorts ? { ExposedPorts: c.ExposedPorts } : {}),
    Tty: false,
    OpenStdin: false,
    StdinOnce: false,
    Env: c.Env ?? null,
    Cmd: c.Cmd ?? null,
    Image: "",
    Volumes: c.Volumes ?? null,
    WorkingDir: c.WorkingDir ?? "",
    Entrypoint: c.Entrypoint ?? null,
    OnBuild: null,
    Labels: c.Labels ?? null,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
  };
}

export function inspectStored(p: StorePaths, image: StoredImage): ImageInspect {
  const { record, config } = image;
  return {
    Id: record.id,
    RepoTags: namesOf(p, record.id).map(familiar),
    RepoDigests: record.repoDigests.map(familiar),
    Parent: "",
    Comment: config.history?.at(-1)?.comment ?? "",
    Created: config.created ?? "",
    Author: config.author ?? "",
    Config: dockerConfig(config.config),
    Architecture: config.architecture,
    ...(config.variant ? { Variant: config.variant } : {}),
    Os: config.os,
    Size: imageSize(image),
    GraphDriver: { Name: "overlay", Data: { LowerDir: image.layers.map((l) => layerDiff(p, l.diffID)).reverse().join(":") } },
    RootFS: { Type: "layers", Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: record.stored },
  };
}

/**
 * docker's image-inspect document for an image named by name, ID or ID prefix; undefined when no
 * image is called that (so `box inspect` can try containers). A damaged image is an error.
 */
export function inspectImage(layout: Layout, word: string): ImageInspect | undefined {
  const p = peekStore(layout);
  const found = findImage(p, word);
  return found ? inspectStored(p, found.image) : undefined;
}

/** inspectImage, or the sentence docker gives. */
export function inspectImageOrFail(layout: Layout, word: string): ImageInspect {
  const doc = inspectImage(layout, word);
  if (!doc) throw new BoxError(`no such image: ${word}`);
  return doc;
}
