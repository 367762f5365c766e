//! `enum_with_unknown!`: protocol-number enums that keep unknown values for lossless round trips,
//! optionally with a closed companion enum of the named values for exhaustive matching.

/// Declares a protocol-number enum with an `Unknown(raw)` variant and `From` conversions both
/// ways, so parse → emit never loses a code.
///
/// With a second `pub enum Known` header after a `/`, it also declares the closed enum of the
/// named values (no `Unknown`), so consumers that must handle every known value match on it
/// exhaustively, plus the conversions between the two. The list of variants and values is
/// written once, in the invocation.
macro_rules! enum_with_unknown {
    (
        $(#[$m:meta])*
        pub enum $name:ident($ty:ty) {
            $( $(#[$vm:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vm])* $variant, )+
            /// A value this crate has no name for, kept as received.
            Unknown($ty),
        }

        impl ::core::convert::From<$ty> for $name {
            fn from(value: $ty) -> Self {
                match value {
                    $( v if v == $value => $name::$variant, )+
                    other => $name::Unknown(other),
                }
            }
        }

        impl ::core::convert::From<$name> for $ty {
            fn from(value: $name) -> Self {
                value.value()
            }
        }

        impl $name {
            /// Every named variant (handy for tests and strategies).
            pub const KNOWN: &'static [$name] = &[$( $name::$variant ),+];

            /// The raw wire value.
            pub const fn value(self) -> $ty {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Unknown(other) => other,
                }
            }
        }
    };
    (
        $(#[$m:meta])*
        pub enum $name:ident($ty:ty) /
        $(#[$km:meta])*
        pub enum $known:ident {
            $( $(#[$vm:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        enum_with_unknown! {
            $(#[$m])*
            pub enum $name($ty) {
                $( $(#[$vm])* $variant = $value ),+
            }
        }

        $(#[$km])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        pub enum $known {
            $( $(#[$vm])* $variant, )+
        }

        impl $known {
            /// Every value, in wire order.
            pub const ALL: [$known; [$( $value ),+].len()] = [$( $known::$variant ),+];

            /// The wire value.
            pub const fn code(self) -> $ty {
                match self {
                    $( $known::$variant => $value, )+
                }
            }

            /// The value for a wire code; `None` for a code without a name.
            pub fn from_code(code: $ty) -> Option<$known> {
                $name::from(code).known()
            }
        }

        impl $name {
            /// The closed form of a named value; `None` for `Unknown`.
            pub const fn known(self) -> Option<$known> {
                match self {
                    $( $name::$variant => Some($known::$variant), )+
                    $name::Unknown(_) => None,
                }
            }
        }

        impl ::core::convert::From<$known> for $name {
            fn from(value: $known) -> Self {
                match value {
                    $( $known::$variant => $name::$variant, )+
                }
            }
        }

        impl ::core::convert::From<$known> for $ty {
            fn from(value: $known) -> Self {
                value.code()
            }
        }

        impl ::core::convert::TryFrom<$name> for $known {
            type Error = $ty;
            /// The closed form, or the raw value when it has no name.
            fn try_from(value: $name) -> Result<Self, $ty> {
                value.known().ok_or(value.value())
            }
        }
    };
}

pub(crate) use enum_with_unknown;
