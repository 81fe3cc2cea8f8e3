# flake.nix's outputs evaluated the way `nix flake` would call them, with ./pkgs.nix standing in for
# the nixpkgs input (nix 2.8 here has no flakes enabled and no network): `self` is the outputs
# themselves plus outPath, as in flake-compat.
let
  flake = import ../../flake.nix;
  systems = [ "x86_64-linux" "aarch64-linux" ];
  perSystem = builtins.listToAttrs (map (s: { name = s; value = import ./pkgs.nix { system = s; }; }) systems);
  nixpkgs = {
    inherit (perSystem.x86_64-linux) lib;
    legacyPackages = perSystem;
    outPath = "/nix/store/00000000000000000000000000000000-nixpkgs";
  };
  self = flake.outputs { inherit self nixpkgs; } // { outPath = toString ../..; inputs = { inherit nixpkgs; }; };
in
{
  inherit flake self perSystem;
  inputNames = builtins.attrNames flake.inputs;
}
